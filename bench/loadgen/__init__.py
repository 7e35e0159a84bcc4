"""Load generators: wrk (closed loop), ApacheBench (the seed's tool) and an open-loop one."""
