// The benchmark workloads of scopes-bench, in Kotlin with kotlinx.coroutines, for the kotlinx
// column. Run by ./run.sh: each workload is warmed up, then timed over the rounds; the median
// time per coroutine (or per call) is printed as a Markdown row.

import kotlinx.coroutines.*
import kotlinx.coroutines.channels.*
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

val ROUNDS = 7
val WARMUP = 5

fun human(ns: Double): String = when {
    ns < 1_000.0 -> String.format("%.0f ns", ns)
    ns < 1_000_000.0 -> String.format("%.2f µs", ns / 1e3)
    else -> String.format("%.2f ms", ns / 1e6)
}

/** Runs [round] WARMUP times, then ROUNDS times; prints the median per op. */
fun measure(title: String, ops: Int, round: suspend () -> Long) {
    val samples = ArrayList<Double>()
    runBlocking(Dispatchers.Default) {
        repeat(WARMUP) { round() }
        repeat(ROUNDS) { samples.add(round().toDouble() / ops) }
    }
    samples.sort()
    println("| $title | kotlinx.coroutines ${"1.0.1"} (JVM, Dispatchers.Default) | ${human(samples[samples.size / 2])} |")
}

/** Times [block] in nanoseconds. */
suspend fun timed(block: suspend () -> Unit): Long {
    val start = System.nanoTime()
    block()
    return System.nanoTime() - start
}

suspend fun treeNode(scope: CoroutineScope, depth: Int) {
    if (depth == 0) { yield(); return }
    repeat(10) { scope.launch { treeNode(this, depth - 1) } }
}

/** `produced` values through `produce` with [capacity], taken by the caller, in order. */
suspend fun produceRound(produced: Int, capacity: Int): Long = timed {
    coroutineScope {
        val values = produce(capacity = capacity) {
            for (i in 0 until produced) send(i.toLong())
        }
        var expected = 0L
        for (v in values) {
            check(v == expected)
            expected++
        }
        check(expected == produced.toLong())
    }
}

fun main(args: Array<String>) {
    val n = if (args.contains("--quick")) 20_000 else 100_000
    println("| workload | contender | per op |")
    println("|---|---|---:|")

    measure("1. launch + join of $n empty coroutines", n) {
        timed { coroutineScope { repeat(n) { launch { } } } }
    }
    measure("2. 10-ary tree of depth 4 (11111 coroutines)", 11_111) {
        timed { coroutineScope { launch { treeNode(this, 4) } } }
    }
    val (mid, leaves) = if (n == 20_000) Pair(20, 500) else Pair(100, 1_000)
    measure("3. cancel a $mid x $leaves parked tree (cancel + join only)", mid * leaves) {
        val launched = AtomicInteger()
        val root = GlobalScope.launch(Dispatchers.Default) {
            repeat(mid) {
                launch {
                    repeat(leaves) { launch { delay(3_600_000) } }
                    launched.addAndGet(leaves)
                    delay(3_600_000)
                }
            }
            delay(3_600_000)
        }
        while (launched.get() < mid * leaves) yield()
        delay(5)
        timed { root.cancelAndJoin() }
    }
    val failFast = if (n == 20_000) 2_000 else 10_000
    measure("4. fail fast: $failFast parked children, one fails", failFast) {
        timed {
            try {
                coroutineScope {
                    repeat(failFast - 1) { launch { delay(3_600_000) } }
                    launch { throw RuntimeException("failed") }
                }
            } catch (e: RuntimeException) { }
        }
    }
    measure("5. supervisor: $n children, 1% fail, every failure reported", n) {
        val reported = AtomicInteger()
        val handler = CoroutineExceptionHandler { _, _ -> reported.incrementAndGet() }
        timed {
            // Each child of a supervisor reports to the handler in its own context.
            supervisorScope {
                repeat(n) { i -> launch(handler) { if (i % 100 == 0) throw RuntimeException("child $i") } }
            }
            check(reported.get() == (n + 99) / 100)
        }
    }
    measure("6. async fan-out/fan-in: $n values summed", n) {
        timed {
            coroutineScope {
                val deferred = (0 until n).map { i -> async { i.toLong() } }
                var total = 0L
                for (d in deferred) total += d.await()
                check(total == (0 until n).map { it.toLong() }.sum())
            }
        }
    }
    val checks = if (n == 20_000) 1_000_000 else 10_000_000
    measure("7. the cancellation check in a hot loop (`isActive`)", checks) {
        timed {
            coroutineScope {
                var seen = 0L
                repeat(checks) { if (isActive) seen++ }
                check(seen == checks.toLong())
            }
        }
    }
    // The `produce` table of scopes-bench (`--only produce`): per value.
    val produced = if (n == 20_000) 100_000 else 1_000_000
    measure("flow: $produced values through `produce` (RENDEZVOUS), per value", produced) {
        produceRound(produced, Channel.RENDEZVOUS)
    }
    measure("flow: $produced values through `produce` (capacity 64), per value", produced) {
        produceRound(produced, 64)
    }
}
