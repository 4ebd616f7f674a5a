# Builds and installs the daemon with its systemd units, man pages and
# example configuration.
#
#   make                      release build (cargo build --release)
#   make units                the unit files with paths filled in, in $(UNIT_BUILD)
#   make install              build, then install under $(DESTDIR)
#   make uninstall            remove what install put there (not the configs)
#   make deb                  build, then the Debian package libvirtd-rs in
#                             $(DEB_DIR) (packaging/build-deb.sh; needs
#                             dpkg-dev); install it with
#                             apt install ./target/deb/libvirtd-rs_*.deb
#
# Variables (defaults in brackets):
#   PREFIX [/usr]             binaries, units, man pages and docs go below it
#   DESTDIR []                staging directory prepended to every path
#   SBINDIR [$(PREFIX)/sbin]
#   UNITDIR [$(PREFIX)/lib/systemd/system]
#   MANDIR [$(PREFIX)/share/man]
#   DOCDIR [$(PREFIX)/share/doc/libvirtd]
#   SYSCONFDIR [/etc]         the daemon reads /etc/libvirt/<daemon>.conf
#   RUNSTATEDIR [/run]        socket directory written into the socket units
#   LOCALSTATEDIR [/var]      the secrets encryption key is kept in
#                             $(LOCALSTATEDIR)/lib/libvirt/secrets
#   LIBEXECDIR [$(PREFIX)/lib/libvirt]
#                             libvirt-guests is installed there
#   GUESTS_EXEC [$(LIBEXECDIR)/libvirt-guests]
#                             what libvirt-guests.service runs
#   DEB_DIR [target/deb]      where make deb writes the package
#   BIN [release build]       an already built libvirtd to install instead
#                             of building one
#   GUESTS_BIN [libvirt-guests next to BIN]
#                             the libvirt-guests program to install
#   LXC_BIN [libvirt_lxc next to BIN]
#                             the container supervisor, installed as
#                             $(LIBEXECDIR)/libvirt_lxc, where the daemon in
#                             $(SBINDIR) looks for it (../lib/libvirt/)
#
# One binary serves as libvirtd and as the per-driver daemons: virtqemud,
# virtlxcd, virtnetworkd, virtsecretd, virtnodedevd, virtinterfaced and virtproxyd
# are symbolic links to it, the program name picks the daemon.
# Unit files are templates (systemd/*.in) with @SBINDIR@, @SYSCONFDIR@,
# @RUNSTATEDIR@, @LOCALSTATEDIR@ and @GUESTS_EXEC@ replaced at build time; the
# per-driver daemons' units come from the modular*.in templates with @DAEMON@
# and @DRIVER@ filled in. libvirtd.service and virtsecretd.service get the
# drop-in secret-encryption.conf (the secrets encryption key credential).

PREFIX ?= /usr
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
UNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/libvirtd
SYSCONFDIR ?= /etc
RUNSTATEDIR ?= /run
LOCALSTATEDIR ?= /var
LIBEXECDIR ?= $(PREFIX)/lib/libvirt
GUESTS_EXEC ?= $(LIBEXECDIR)/libvirt-guests

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
INSTALL ?= install

ifeq ($(origin BIN),undefined)
BIN := $(TARGET_DIR)/release/libvirtd
BUILD_STEP := build
else
BUILD_STEP :=
endif
GUESTS_BIN ?= $(dir $(BIN))libvirt-guests
LXC_BIN ?= $(dir $(BIN))libvirt_lxc

MODULAR_DAEMONS := virtqemud virtlxcd virtnetworkd virtstoraged virtsecretd virtnodedevd \
	virtinterfaced
UNIT_BUILD := $(TARGET_DIR)/systemd-units
DEB_DIR ?= $(TARGET_DIR)/deb

MONOLITHIC_UNITS := libvirtd.service libvirtd.socket libvirtd-ro.socket \
	libvirtd-admin.socket libvirtd-tcp.socket libvirtd-tls.socket \
	libvirt-guests.service
MODULAR_UNITS := $(foreach d,$(MODULAR_DAEMONS),\
	$(d).service $(d).socket $(d)-ro.socket $(d)-admin.socket)
STATIC_UNITS := virt-guest-shutdown.target
# The secrets encryption key: made once, loaded by the secret driver's daemons.
SECRET_UNITS := virt-secret-init-encryption.service
SECRET_DROPIN_DIRS := libvirtd.service.d virtsecretd.service.d
DROPINS := $(addsuffix /secret-encryption.conf,$(SECRET_DROPIN_DIRS))
# virtproxyd: libvirtd's socket paths and ports, its own unit names.
PROXY_UNITS := virtproxyd.service virtproxyd.socket virtproxyd-ro.socket \
	virtproxyd-admin.socket virtproxyd-tcp.socket virtproxyd-tls.socket
ALL_UNITS := $(MONOLITHIC_UNITS) $(MODULAR_UNITS) $(PROXY_UNITS) $(STATIC_UNITS) \
	$(SECRET_UNITS)

CONFIG_NAMES := libvirtd $(MODULAR_DAEMONS) virtproxyd

SUBSTITUTE = sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@RUNSTATEDIR@|$(RUNSTATEDIR)|g' \
	-e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g' \
	-e 's|@GUESTS_EXEC@|$(GUESTS_EXEC)|g'

# virtqemud -> qemu, VIRTQEMUD_ARGS
driver_of = $(patsubst virt%d,%,$(1))
args_var_of = $(shell echo '$(1)' | tr a-z A-Z)_ARGS

.PHONY: all build units install uninstall clean-units deb

all: build

build:
	$(CARGO) build --release -p daemon -p guests --bin libvirtd --bin libvirt-guests --bin libvirt_lxc

units: $(addprefix $(UNIT_BUILD)/,$(ALL_UNITS) $(DROPINS))

$(UNIT_BUILD):
	mkdir -p $@

$(UNIT_BUILD)/%: systemd/%.in FORCE | $(UNIT_BUILD)
	$(SUBSTITUTE) $< > $@.tmp && mv $@.tmp $@

$(UNIT_BUILD)/%: systemd/% FORCE | $(UNIT_BUILD)
	cp $< $@

$(UNIT_BUILD)/%.service.d/secret-encryption.conf: systemd/secret-encryption.conf.in FORCE | $(UNIT_BUILD)
	mkdir -p $(dir $@)
	$(SUBSTITUTE) $< > $@.tmp && mv $@.tmp $@

# The modular units: one rule per daemon and unit kind.
define modular_rules
$(UNIT_BUILD)/$(1).service: systemd/modular.service.in FORCE | $(UNIT_BUILD)
	$$(SUBSTITUTE) -e 's|@DAEMON@|$(1)|g' -e 's|@DRIVER@|$(call driver_of,$(1))|g' \
		-e 's|@DAEMON_ARGS@|$(call args_var_of,$(1))|g' $$< > $$@.tmp && mv $$@.tmp $$@
$(UNIT_BUILD)/$(1).socket: systemd/modular.socket.in FORCE | $(UNIT_BUILD)
	$$(SUBSTITUTE) -e 's|@DAEMON@|$(1)|g' -e 's|@DRIVER@|$(call driver_of,$(1))|g' \
		$$< > $$@.tmp && mv $$@.tmp $$@
$(UNIT_BUILD)/$(1)-ro.socket: systemd/modular-ro.socket.in FORCE | $(UNIT_BUILD)
	$$(SUBSTITUTE) -e 's|@DAEMON@|$(1)|g' -e 's|@DRIVER@|$(call driver_of,$(1))|g' \
		$$< > $$@.tmp && mv $$@.tmp $$@
$(UNIT_BUILD)/$(1)-admin.socket: systemd/modular-admin.socket.in FORCE | $(UNIT_BUILD)
	$$(SUBSTITUTE) -e 's|@DAEMON@|$(1)|g' -e 's|@DRIVER@|$(call driver_of,$(1))|g' \
		$$< > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach d,$(MODULAR_DAEMONS),$(eval $(call modular_rules,$(d))))

FORCE:

install: $(BUILD_STEP) units
	$(INSTALL) -d $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/libvirtd
	for d in $(MODULAR_DAEMONS) virtproxyd; do \
		ln -sf libvirtd $(DESTDIR)$(SBINDIR)/$$d || exit 1; \
	done
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(GUESTS_BIN) $(DESTDIR)$(LIBEXECDIR)/libvirt-guests
	$(INSTALL) -m 0755 $(LXC_BIN) $(DESTDIR)$(LIBEXECDIR)/libvirt_lxc
	$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	for u in $(ALL_UNITS); do \
		$(INSTALL) -m 0644 $(UNIT_BUILD)/$$u $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	for d in $(DROPINS); do \
		$(INSTALL) -d $(DESTDIR)$(UNITDIR)/$$(dirname $$d) || exit 1; \
		$(INSTALL) -m 0644 $(UNIT_BUILD)/$$d $(DESTDIR)$(UNITDIR)/$$d || exit 1; \
	done
	for section in 5 7 8; do \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$section || exit 1; \
		for page in man/*.$$section; do \
			[ -e "$$page" ] || continue; \
			$(INSTALL) -m 0644 $$page $(DESTDIR)$(MANDIR)/man$$section/ || exit 1; \
		done; \
	done
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0644 daemon/libvirtd.conf $(DESTDIR)$(DOCDIR)/examples/libvirtd.conf
# An administrator's configuration is never overwritten.
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/libvirt
	for name in $(CONFIG_NAMES); do \
		conf=$(DESTDIR)$(SYSCONFDIR)/libvirt/$$name.conf; \
		[ -e "$$conf" ] || $(INSTALL) -m 0644 daemon/libvirtd.conf "$$conf" || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/libvirtd
	for d in $(MODULAR_DAEMONS) virtproxyd; do rm -f $(DESTDIR)$(SBINDIR)/$$d; done
	rm -f $(DESTDIR)$(LIBEXECDIR)/libvirt-guests $(DESTDIR)$(LIBEXECDIR)/libvirt_lxc
	for u in $(ALL_UNITS) $(DROPINS); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	for d in $(SECRET_DROPIN_DIRS); do rmdir $(DESTDIR)$(UNITDIR)/$$d 2>/dev/null || true; done
	for section in 5 7 8; do \
		for page in man/*.$$section; do \
			[ -e "$$page" ] || continue; \
			rm -f $(DESTDIR)$(MANDIR)/man$$section/$${page#man/}; \
		done; \
	done
	rm -f $(DESTDIR)$(DOCDIR)/examples/libvirtd.conf

deb: $(BUILD_STEP)
	bash packaging/build-deb.sh $(DEB_DIR) $(BIN) $(GUESTS_BIN) $(LXC_BIN)

clean-units:
	rm -rf $(UNIT_BUILD)
