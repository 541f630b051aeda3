// Issue 10's ordering questions, asked of the real kotlinx.coroutines (Debian's 1.0.1):
//
//   apt-get install kotlin libkotlinx-coroutines-java libkotlinx-atomicfu-java
//   CP=$(ls /usr/share/java/kotlinx-coroutines-core*.jar /usr/share/java/atomicfu*.jar | tr '\n' ':')
//   kotlinc issue10_scenarios.kt -cp "$CP" -include-runtime -d /tmp/scen.jar
//   java -cp "/tmp/scen.jar:$CP" Issue10_scenariosKt
//
// It printed (2026-11-29):
//   1. handler saw: isCancelled=true isCompleted=false job=StandaloneCoroutine{Cancelling}@..
//   2. parent of an abandoned child joined: false (p=StandaloneCoroutine{Completing}@..)
//   3. yield order: [a0, b0, a1, b1, a2, b2]
//
// scopes agrees on 1 (the handler runs before the job is final: `edge_ordering.rs`,
// `exception_global.rs`) and 3 (fair `yield_now`: `edge_ordering.rs`), and deliberately differs
// on 2: a standalone job nobody can reach completes, so its parent ends (`job_abandoned.rs`,
// README "Where scopes deliberately differs").

import kotlinx.coroutines.*

fun main() = runBlocking {
    // 1. The state a failed root launch shows to its exception handler.
    val seen = CompletableDeferred<String>()
    val started = CompletableDeferred<Job>()
    val handler = CoroutineExceptionHandler { _, _ ->
        val job = runBlocking { started.await() }
        seen.complete("isCancelled=${job.isCancelled} isCompleted=${job.isCompleted} job=$job")
    }
    val scope = CoroutineScope(SupervisorJob() + handler)
    val gate = CompletableDeferred<Unit>()
    started.complete(scope.launch { gate.await(); throw RuntimeException("boom") })
    gate.complete(Unit)
    println("1. handler saw: " + seen.await())

    // 2. A child Job nobody can complete: does its parent's join return?
    val p = launch { Job(coroutineContext[Job]) /* a child Job, dropped at once */ }
    val joined = withTimeoutOrNull(500) { p.join(); true }
    println("2. parent of an abandoned child joined: ${joined ?: false} (p=$p)")
    p.cancel()

    // 3. Two coroutines printing and yielding.
    val log = mutableListOf<String>()
    val a = launch { for (i in 0..2) { log.add("a$i"); yield() } }
    val b = launch { for (i in 0..2) { log.add("b$i"); yield() } }
    joinAll(a, b)
    println("3. yield order: $log")
}
