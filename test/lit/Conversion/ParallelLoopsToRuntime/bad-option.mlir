// RUN: sinter-opt %s -sinter-parallel-loops-to-runtime="min-chunk-work=0" -verify-diagnostics

// expected-error @below {{min-chunk-work must be at least 1, got 0}}
module {
}
