# packaging/: systemd units, default configuration files, and the Debian and
# RPM packaging (packaging/README.md).
#
# The units and the configuration files are templates (.in): `make` fills in
# the configured paths (sbindir, the configuration and state folders), so a
# default build's unit runs /usr/local/sbin/tallyman-agent and a package's
# /usr/sbin/tallyman-agent.
tallyman_edit = $(SED) \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@tallymanconfdir[@]|$(tallymanconfdir)|g' \
	-e 's|@tallymanstatedir[@]|$(tallymanstatedir)|g' \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g'

TALLYMAN_UNITS = \
	packaging/systemd/tallyman-agent.service \
	packaging/systemd/tallyman-collector.service
TALLYMAN_CONFS = \
	packaging/conf/agent.conf \
	packaging/conf/collector.conf
TALLYMAN_TEMPLATES = $(TALLYMAN_UNITS:=.in) $(TALLYMAN_CONFS:=.in)
EXTRA_DIST += $(TALLYMAN_TEMPLATES)
CLEANFILES += $(TALLYMAN_UNITS) $(TALLYMAN_CONFS)
# Built with the programs (`make`), so the tests find them in the build tree.
noinst_DATA = $(TALLYMAN_UNITS) $(TALLYMAN_CONFS)

# One explicit rule per file (pattern rules are a GNU make extension).
tallyman_generate = $(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(tallyman_edit) $(srcdir)/$@.in >$@.tmp && mv -f $@.tmp $@
packaging/systemd/tallyman-agent.service: $(srcdir)/packaging/systemd/tallyman-agent.service.in Makefile
	$(tallyman_generate)
packaging/systemd/tallyman-collector.service: $(srcdir)/packaging/systemd/tallyman-collector.service.in Makefile
	$(tallyman_generate)
packaging/conf/agent.conf: $(srcdir)/packaging/conf/agent.conf.in Makefile
	$(tallyman_generate)
packaging/conf/collector.conf: $(srcdir)/packaging/conf/collector.conf.in Makefile
	$(tallyman_generate)

if HAVE_SYSTEMD_UNITS
systemdsystemunit_DATA = $(TALLYMAN_UNITS)
endif

# The configuration files go to $(tallymanconfdir), mode 0640 (an operator
# adds Kafka passwords to them), but never over a file that is already there:
# that one is the operator's.  `make uninstall` removes them only while they
# are unchanged.  (The packages mark them as configuration files instead.)
install-data-local: $(TALLYMAN_CONFS)
	$(MKDIR_P) '$(DESTDIR)$(tallymanconfdir)'
	@for f in $(TALLYMAN_CONFS); do \
	  t='$(DESTDIR)$(tallymanconfdir)'/`basename $$f`; \
	  if test -e "$$t"; then \
	    echo "  keeping $$t (already there; the new default is $$f)"; \
	  else \
	    echo " $(INSTALL) -m 0640 $$f $$t"; \
	    $(INSTALL) -m 0640 "$$f" "$$t" || exit 1; \
	  fi; \
	done
uninstall-local:
	@for f in $(TALLYMAN_CONFS); do \
	  t='$(DESTDIR)$(tallymanconfdir)'/`basename $$f`; \
	  test -e "$$t" || continue; \
	  if cmp -s "$$f" "$$t"; then \
	    echo " rm -f $$t"; rm -f "$$t"; \
	  else \
	    echo "  keeping $$t (changed since it was installed)"; \
	  fi; \
	done

# The tests see the configured folders, to compare the programs' compiled
# defaults with the packaged paths (/etc/tallyman, /var/lib/tallyman).
AM_TESTS_ENVIRONMENT += \
	TM_CONFDIR='$(tallymanconfdir)'; export TM_CONFDIR; \
	TM_STATEDIR='$(tallymanstatedir)'; export TM_STATEDIR; \
	TM_SBINDIR='$(sbindir)'; export TM_SBINDIR;

# The units as generated: systemd-analyze verify and security, hardening;
# the agent's capabilities against real daemons (setpriv); both programs'
# system calls, socket families and writes against the units (strace).
TESTS += tests/integ/units-verify.sh tests/integ/units-confinement.sh \
	tests/integ/units-syscalls.sh
EXTRA_DIST += tests/integ/units-verify.sh tests/integ/units-confinement.sh \
	tests/integ/units-syscalls.sh

# Debian and RPM packaging (packaging/README.md), and their tests: each
# builds its packages once (a few minutes), then checks them.
EXTRA_DIST += packaging/README.md packaging/debian packaging/rpm/tallyman.spec
TESTS += tests/integ/package-deb.sh tests/integ/package-rpm.sh
EXTRA_DIST += tests/integ/package-deb.sh tests/integ/package-rpm.sh \
	tests/lib/package.sh
