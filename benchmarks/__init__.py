"""Benchmark machinery, outside the library: step throughput against PyTorch (`throughput`), FLOP
counts (`flops`), the machine's matmul rate and load (`machine`) and the PyTorch reference steps
(`torch_reference`). Used by `bin/benchmark.py` and its tests."""
