import kotlinx.coroutines.*

fun log(s: String) = println(s)

fun main() = runBlocking<Unit> {
    // 1. Root launch in a Job() scope: handler called once; the scope's job is cancelled.
    val h1 = CoroutineExceptionHandler { _, e -> log("1 handler: ${e.message}") }
    val s1 = CoroutineScope(Job() + h1 + Dispatchers.Default)
    s1.launch { throw RuntimeException("root failed") }.join()
    log("1 scope active after root failure: ${s1.coroutineContext[Job]!!.isActive}")

    // 2. First failure wins; a failure in a sibling's finally is suppressed on it.
    val h2 = CoroutineExceptionHandler { _, e -> log("2 handler: ${e.message} suppressed=${e.suppressed.map { it.message }}") }
    val s2 = CoroutineScope(SupervisorJob() + h2)
    s2.launch {
        launch { try { delay(60000) } finally { throw RuntimeException("second") } }
        yield()
        launch { throw RuntimeException("first") }
    }.join()

    // 3. async under supervisorScope: the awaiter gets the failure, no handler.
    val r3 = supervisorScope {
        val d = async { yield(); throw RuntimeException("async failed") }
        try { d.await(); "no" } catch (e: Exception) { "caught ${e.message}, active=$isActive" }
    }
    log("3 $r3")

    // 4. async failure in coroutineScope, awaited in try/catch: does the catch run?
    val r4 = try {
        coroutineScope {
            val d = async<Int> { yield(); throw RuntimeException("async in scope") }
            try { d.await() } catch (e: Exception) { log("4 catch ran: ${e.message}, active=$isActive") }
            delay(1000)
            log("4 after delay (should not print)")
        }
        "returned"
    } catch (e: Exception) { "scope threw ${e.message}" }
    log("4 $r4")

    // 5. A cancelled launch whose finally throws: the exception is the failure and is reported.
    val h5 = CoroutineExceptionHandler { _, e -> log("5 handler: ${e.message}") }
    val s5 = CoroutineScope(SupervisorJob() + h5)
    val j5 = s5.launch { try { delay(60000) } finally { throw RuntimeException("cleanup failed") } }
    yield()
    j5.cancelAndJoin()
    log("5 cancelled=${j5.isCancelled}")

    // 6. Launch into a cancelled scope: body never runs.
    val s6 = CoroutineScope(Job()); s6.coroutineContext[Job]!!.cancel()
    val j6 = s6.launch { log("6 RAN (unexpected)") }
    j6.join(); log("6 state cancelled=${j6.isCancelled}")

    // 7. A handler on an inner coroutine is ignored.
    val hr = CoroutineExceptionHandler { _, e -> log("7 root handler: ${e.message}") }
    val hi = CoroutineExceptionHandler { _, e -> log("7 inner handler (unexpected): ${e.message}") }
    CoroutineScope(SupervisorJob() + hr).launch { launch(hi) { throw RuntimeException("inner") } }.join()

    // 8. An unobserved failed async under a supervisor: lost in kotlinx.
    val h8 = CoroutineExceptionHandler { _, e -> log("8 handler: ${e.message}") }
    val s8 = CoroutineScope(SupervisorJob() + h8)
    s8.async { throw RuntimeException("nobody awaited") }.join()
    log("8 done (kotlinx prints no handler line: the failure is lost)")
}
