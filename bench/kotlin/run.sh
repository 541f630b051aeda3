#!/usr/bin/env bash
# The kotlinx.coroutines column of the benchmarks: builds Workloads.kt and runs it on the JVM.
# Needs Debian's kotlin, libkotlinx-coroutines-java and libkotlinx-atomicfu-java (kotlinx 1.0.1).
# Pass --quick for the smaller sizes of `scopes-bench --quick`.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v kotlinc >/dev/null; then
    echo "kotlinc is not installed: apt-get install kotlin libkotlinx-coroutines-java libkotlinx-atomicfu-java" >&2
    exit 1
fi
out=$(mktemp -d)
cp=/usr/share/java/kotlinx-coroutines-core-1.0.1.jar
kotlinc Workloads.kt -cp "$cp" -include-runtime -d "$out/workloads.jar" 2>/dev/null
java -Xss8m -cp "$out/workloads.jar:$cp:/usr/share/java/atomicfu.jar" WorkloadsKt "$@"
