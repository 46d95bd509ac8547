# doc: see the top-level Makefile.am
EXTRA_DIST += doc/tallyman-agent-kafka.md
EXTRA_DIST += doc/findings.md
EXTRA_DIST += doc/fuzzing.md
EXTRA_DIST += doc/api.md

# Man pages (roff), installed by `make install` and both packages.
dist_man_MANS += \
	doc/tallyman-agent.8 \
	doc/tallyman-collector.8 \
	doc/tallyman.conf.5 \
	doc/tallyman-decode.1
# Every key of both configuration tables is in tallyman.conf(5) and in the
# shipped configuration files, with its default; the pages format cleanly.
TESTS += tests/integ/config-docs.sh
EXTRA_DIST += tests/integ/config-docs.sh
