#!/usr/bin/env bash
# Runs Semantics.kt against Debian's kotlinx.coroutines 1.0.1, to compare scopes with the real
# thing. Needs: apt-get install kotlin libkotlinx-coroutines-java libkotlinx-atomicfu-java
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
cp=/usr/share/java/kotlinx-coroutines-core-1.0.1.jar
kotlinc Semantics.kt -cp "$cp" -include-runtime -d "$out/semantics.jar" 2>/dev/null
kotlin -cp "$out/semantics.jar:$cp:/usr/share/java/atomicfu.jar" SemanticsKt
