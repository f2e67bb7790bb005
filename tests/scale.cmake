# A learner holds 200 actors: bench_actors starts `td3d learner` and 200 simulated actors (each
# with its own control, experience and weights socket; Hello, heartbeats every 200 ms, Pendulum
# batches with the lease) and measures 5 s once all joined; --check fails the test unless every
# actor joined, none lost its lease (no Reject UNKNOWN_SLOT, no 5 s without an answer, no batch
# refused as unregistered) and /metrics counts all 200 connected. Ports 28800-28803.
# Included from tests/CMakeLists.txt.
add_test(NAME scale_200_actors
         COMMAND bench_actors --actors 200 --seconds 5 --rate 100 --join-limit 20 --port 28800
                 --status-port 28803 --check)
# Alone: its 600 connections take as many ephemeral ports (other tests bind fixed ones in that
# range) and it measures heartbeat latency.
set_tests_properties(scale_200_actors PROPERTIES TIMEOUT 120 RUN_SERIAL TRUE)
