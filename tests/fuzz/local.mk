# tests/fuzz/: libFuzzer targets (issue 9), one per parser of untrusted
# input (doc/fuzzing.md).
#   - tests/fuzz/fuzz-<thing>: built only by ./configure --enable-fuzzing
#     CC=clang (FUZZ_CFLAGS then instruments every object); `make fuzz`
#     runs each for FUZZ_SECONDS and prints its executions (run.sh).
#   - tests/fuzz/replay-<thing>: the same harness without libFuzzer, in
#     every build: a cmocka test replaying the target's seed corpus,
#     tests/fuzz/corpus/fuzz-<thing>/ (crash-* files: what fuzzing found).
# The programs' variables are unconditional; only which are built is not.
FUZZ_SECONDS = 60
FUZZ_LINK = $(AM_LDFLAGS) -fsanitize=fuzzer
FUZZ_HDRS = tests/fuzz/fuzz.h
FUZZ_TARGETS =
FUZZ_REPLAYS =

FUZZ_TARGETS += tests/fuzz/fuzz-decode
FUZZ_REPLAYS += tests/fuzz/replay-decode
tests_fuzz_fuzz_decode_SOURCES = tests/fuzz/fuzz-decode.c $(FUZZ_HDRS)
tests_fuzz_fuzz_decode_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_decode_LDADD = $(SCHEMA_LIBS) $(COMMON_LIBS)

FUZZ_INVENTORY_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(RPM_CFLAGS)
FUZZ_INVENTORY_LIBS = $(INVENTORY_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz-dpkg tests/fuzz/fuzz-apk \
	tests/fuzz/fuzz-os-release tests/fuzz/fuzz-rpm-ndb
FUZZ_REPLAYS += tests/fuzz/replay-dpkg tests/fuzz/replay-apk \
	tests/fuzz/replay-os-release tests/fuzz/replay-rpm-ndb
tests_fuzz_fuzz_dpkg_SOURCES = tests/fuzz/fuzz-dpkg.c $(FUZZ_HDRS)
tests_fuzz_fuzz_dpkg_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_dpkg_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_apk_SOURCES = tests/fuzz/fuzz-apk.c $(FUZZ_HDRS)
tests_fuzz_fuzz_apk_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_apk_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_os_release_SOURCES = tests/fuzz/fuzz-os-release.c $(FUZZ_HDRS)
tests_fuzz_fuzz_os_release_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_os_release_LDADD = $(FUZZ_INVENTORY_LIBS)
tests_fuzz_fuzz_rpm_ndb_SOURCES = tests/fuzz/fuzz-rpm-ndb.c \
	tests/fuzz/ndb.h $(FUZZ_HDRS)
tests_fuzz_fuzz_rpm_ndb_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_rpm_ndb_LDADD = $(FUZZ_INVENTORY_LIBS)
# librpm reads the header: only with it.
if HAVE_RPM
FUZZ_TARGETS += tests/fuzz/fuzz-rpm-header
FUZZ_REPLAYS += tests/fuzz/replay-rpm-header
endif
tests_fuzz_fuzz_rpm_header_SOURCES = tests/fuzz/fuzz-rpm-header.c \
	tests/fuzz/ndb.h $(FUZZ_HDRS)
tests_fuzz_fuzz_rpm_header_CFLAGS = $(FUZZ_INVENTORY_CFLAGS)
tests_fuzz_fuzz_rpm_header_LDADD = $(FUZZ_INVENTORY_LIBS)

# One source, three version orders.
FUZZ_TARGETS += tests/fuzz/fuzz-version-dpkg tests/fuzz/fuzz-version-rpm \
	tests/fuzz/fuzz-version-apk
FUZZ_REPLAYS += tests/fuzz/replay-version-dpkg tests/fuzz/replay-version-rpm \
	tests/fuzz/replay-version-apk
FUZZ_VERSION_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_version_dpkg_SOURCES = tests/fuzz/fuzz-version.c \
	$(COLLECTOR_VERSION_SOURCES) $(FUZZ_HDRS)
tests_fuzz_fuzz_version_dpkg_CFLAGS = $(FUZZ_VERSION_CFLAGS) -DFUZZ_SCHEME='"dpkg"'
tests_fuzz_fuzz_version_dpkg_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_version_rpm_SOURCES = $(tests_fuzz_fuzz_version_dpkg_SOURCES)
tests_fuzz_fuzz_version_rpm_CFLAGS = $(FUZZ_VERSION_CFLAGS) -DFUZZ_SCHEME='"rpm"'
tests_fuzz_fuzz_version_rpm_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_version_apk_SOURCES = $(tests_fuzz_fuzz_version_dpkg_SOURCES)
tests_fuzz_fuzz_version_apk_CFLAGS = $(FUZZ_VERSION_CFLAGS) -DFUZZ_SCHEME='"apk"'
tests_fuzz_fuzz_version_apk_LDADD = $(COMMON_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-osv
FUZZ_REPLAYS += tests/fuzz/replay-osv
tests_fuzz_fuzz_osv_SOURCES = tests/fuzz/fuzz-osv.c \
	$(COLLECTOR_VERSION_SOURCES) $(FUZZ_HDRS)
tests_fuzz_fuzz_osv_CFLAGS = $(CORRELATE_TEST_CFLAGS)
tests_fuzz_fuzz_osv_LDADD = $(CORRELATE_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS)

FUZZ_TARGETS += tests/fuzz/fuzz-config tests/fuzz/fuzz-zframe
FUZZ_REPLAYS += tests/fuzz/replay-config tests/fuzz/replay-zframe
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz-config.c agent/config.c \
	collector/config.c $(FUZZ_HDRS)
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS)
tests_fuzz_fuzz_config_LDADD = $(COMMON_LIBS)
tests_fuzz_fuzz_zframe_SOURCES = tests/fuzz/fuzz-zframe.c $(FUZZ_HDRS)
tests_fuzz_fuzz_zframe_CFLAGS = $(AM_CFLAGS) $(ZSTD_CFLAGS)
tests_fuzz_fuzz_zframe_LDADD = $(COMMON_LIBS)

# The spool's reading of its own folder: recovery and the sender's reads.
FUZZ_TARGETS += tests/fuzz/fuzz-spool
FUZZ_REPLAYS += tests/fuzz/replay-spool
tests_fuzz_fuzz_spool_SOURCES = tests/fuzz/fuzz-spool.c $(FUZZ_HDRS)
tests_fuzz_fuzz_spool_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(ZSTD_CFLAGS)
tests_fuzz_fuzz_spool_LDADD = $(OUTPUT_LIBS) $(COMMON_LIBS)

# The watchers compile their own sources in (static handlers), with the
# registry and watcher table stubbed (tests/fuzz/watch-stubs.h).
FUZZ_WATCH_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(MSGPACK_CFLAGS) \
	$(JANSSON_CFLAGS) $(CURL_CFLAGS) $(PROTOBUFC_CFLAGS)
FUZZ_WATCH_LIBS = $(SCHEMA_LIBS) $(COMMON_LIBS) $(PROTOBUFC_LIBS) \
	$(JANSSON_LIBS) $(CURL_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz-containerd tests/fuzz/fuzz-docker
FUZZ_REPLAYS += tests/fuzz/replay-containerd tests/fuzz/replay-docker
tests_fuzz_fuzz_containerd_SOURCES = tests/fuzz/fuzz-containerd.c \
	tests/fuzz/watch-stubs.h agent/spec-oci.c agent/risks.c agent/ctr-name.c \
	agent/snapshot.c $(FUZZ_HDRS)
nodist_tests_fuzz_fuzz_containerd_SOURCES = agent/proto/containerd.pb-c.c
tests_fuzz_fuzz_containerd_CFLAGS = $(FUZZ_WATCH_CFLAGS)
tests_fuzz_fuzz_containerd_LDADD = $(FUZZ_WATCH_LIBS)
tests_fuzz_fuzz_docker_SOURCES = tests/fuzz/fuzz-docker.c \
	tests/fuzz/watch-stubs.h agent/inspect-docker.c agent/risks.c agent/ctr-name.c \
	agent/snapshot.c $(FUZZ_HDRS)
tests_fuzz_fuzz_docker_CFLAGS = $(FUZZ_WATCH_CFLAGS)
tests_fuzz_fuzz_docker_LDADD = $(FUZZ_WATCH_LIBS)
# The generated header must exist before the harness that includes it.
tests/fuzz/fuzz_containerd-fuzz-containerd.$(OBJEXT) \
tests/fuzz/replay_containerd-fuzz-containerd.$(OBJEXT): \
	agent/proto/containerd.pb-c.h

# libFuzzer's main for the fuzz-* programs.
tests_fuzz_fuzz_decode_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_dpkg_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_apk_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_os_release_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rpm_ndb_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rpm_header_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_version_dpkg_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_version_rpm_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_version_apk_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_osv_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_zframe_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_spool_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_containerd_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_docker_LDFLAGS = $(FUZZ_LINK)

# The replays: each target's sources, flags and libraries, with replay.c
# as main and cmocka.
FUZZ_REPLAY_SRC = tests/fuzz/replay.c
tests_fuzz_replay_decode_SOURCES = $(tests_fuzz_fuzz_decode_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_decode_CFLAGS = $(tests_fuzz_fuzz_decode_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-decode"'
tests_fuzz_replay_decode_LDADD = $(tests_fuzz_fuzz_decode_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_dpkg_SOURCES = $(tests_fuzz_fuzz_dpkg_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_dpkg_CFLAGS = $(tests_fuzz_fuzz_dpkg_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-dpkg"'
tests_fuzz_replay_dpkg_LDADD = $(tests_fuzz_fuzz_dpkg_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_apk_SOURCES = $(tests_fuzz_fuzz_apk_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_apk_CFLAGS = $(tests_fuzz_fuzz_apk_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-apk"'
tests_fuzz_replay_apk_LDADD = $(tests_fuzz_fuzz_apk_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_os_release_SOURCES = $(tests_fuzz_fuzz_os_release_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_os_release_CFLAGS = $(tests_fuzz_fuzz_os_release_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-os-release"'
tests_fuzz_replay_os_release_LDADD = $(tests_fuzz_fuzz_os_release_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_rpm_ndb_SOURCES = $(tests_fuzz_fuzz_rpm_ndb_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_rpm_ndb_CFLAGS = $(tests_fuzz_fuzz_rpm_ndb_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-rpm-ndb"'
tests_fuzz_replay_rpm_ndb_LDADD = $(tests_fuzz_fuzz_rpm_ndb_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_rpm_header_SOURCES = $(tests_fuzz_fuzz_rpm_header_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_rpm_header_CFLAGS = $(tests_fuzz_fuzz_rpm_header_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-rpm-header"'
tests_fuzz_replay_rpm_header_LDADD = $(tests_fuzz_fuzz_rpm_header_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_version_dpkg_SOURCES = $(tests_fuzz_fuzz_version_dpkg_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_version_dpkg_CFLAGS = $(tests_fuzz_fuzz_version_dpkg_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-version-dpkg"'
tests_fuzz_replay_version_dpkg_LDADD = $(tests_fuzz_fuzz_version_dpkg_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_version_rpm_SOURCES = $(tests_fuzz_fuzz_version_rpm_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_version_rpm_CFLAGS = $(tests_fuzz_fuzz_version_rpm_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-version-rpm"'
tests_fuzz_replay_version_rpm_LDADD = $(tests_fuzz_fuzz_version_rpm_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_version_apk_SOURCES = $(tests_fuzz_fuzz_version_apk_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_version_apk_CFLAGS = $(tests_fuzz_fuzz_version_apk_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-version-apk"'
tests_fuzz_replay_version_apk_LDADD = $(tests_fuzz_fuzz_version_apk_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_osv_SOURCES = $(tests_fuzz_fuzz_osv_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_osv_CFLAGS = $(tests_fuzz_fuzz_osv_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-osv"'
tests_fuzz_replay_osv_LDADD = $(tests_fuzz_fuzz_osv_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_config_SOURCES = $(tests_fuzz_fuzz_config_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_config_CFLAGS = $(tests_fuzz_fuzz_config_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-config"'
tests_fuzz_replay_config_LDADD = $(tests_fuzz_fuzz_config_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_zframe_SOURCES = $(tests_fuzz_fuzz_zframe_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_zframe_CFLAGS = $(tests_fuzz_fuzz_zframe_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-zframe"'
tests_fuzz_replay_zframe_LDADD = $(tests_fuzz_fuzz_zframe_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_spool_SOURCES = $(tests_fuzz_fuzz_spool_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_spool_CFLAGS = $(tests_fuzz_fuzz_spool_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-spool"'
tests_fuzz_replay_spool_LDADD = $(tests_fuzz_fuzz_spool_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_containerd_SOURCES = $(tests_fuzz_fuzz_containerd_SOURCES) $(FUZZ_REPLAY_SRC)
nodist_tests_fuzz_replay_containerd_SOURCES = $(nodist_tests_fuzz_fuzz_containerd_SOURCES)
tests_fuzz_replay_containerd_CFLAGS = $(tests_fuzz_fuzz_containerd_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-containerd"'
tests_fuzz_replay_containerd_LDADD = $(tests_fuzz_fuzz_containerd_LDADD) $(CMOCKA_LIBS)
tests_fuzz_replay_docker_SOURCES = $(tests_fuzz_fuzz_docker_SOURCES) $(FUZZ_REPLAY_SRC)
tests_fuzz_replay_docker_CFLAGS = $(tests_fuzz_fuzz_docker_CFLAGS) $(CMOCKA_CFLAGS) -DFUZZ_TARGET='"fuzz-docker"'
tests_fuzz_replay_docker_LDADD = $(tests_fuzz_fuzz_docker_LDADD) $(CMOCKA_LIBS)

if FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
endif
if HAVE_CMOCKA
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
endif
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/corpus

# Every crash a fuzzer found in a public function, as a readable test.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test-fuzz-regressions
TESTS += tests/unit/test-fuzz-regressions
endif
tests_unit_test_fuzz_regressions_SOURCES = tests/unit/test-fuzz-regressions.c
tests_unit_test_fuzz_regressions_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(UV_CFLAGS) $(MSGPACK_CFLAGS) $(JANSSON_CFLAGS) $(CURL_CFLAGS) \
	$(PROTOBUFC_CFLAGS)
tests_unit_test_fuzz_regressions_LDADD = $(WATCH_LIBS) $(OUTPUT_LIBS) \
	$(INVENTORY_LIBS) $(SCHEMA_LIBS) $(COMMON_LIBS) $(CMOCKA_LIBS)

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS='tests/fuzz/fuzz-dpkg ...']
if FUZZING
fuzz: $(FUZZ_TARGETS)
	@FUZZ_SECONDS='$(FUZZ_SECONDS)' $(SHELL) $(top_srcdir)/tests/fuzz/run.sh \
	    $(top_srcdir)/tests/fuzz/corpus $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzzing CC=clang (doc/fuzzing.md)" >&2; exit 1
endif
.PHONY: fuzz
