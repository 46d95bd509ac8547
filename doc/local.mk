# doc: see the top-level Makefile.am
EXTRA_DIST += doc/tallyman-agent-kafka.md
EXTRA_DIST += doc/findings.md
EXTRA_DIST += doc/fuzzing.md
