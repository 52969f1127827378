# Installing the userspace (owner: cluster/packaging): `make install` builds
# and installs libnpu (shared library with SONAME, headers, pkg-config file,
# CMake package), the tools, their man pages and bash completions, the udev
# rule and the systemd units, with CMake's GNUInstallDirs layout:
#   make install                       # into /usr/local
#   make install PREFIX=/usr DESTDIR=/tmp/stage
# See docs/install.md.
.PHONY: install

PREFIX ?= /usr/local

install: deps-userspace
	cmake -S . -B $(BUILD) -G Ninja $(USERSPACE_CMAKE_FLAGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The Debian packages libnpu0, libnpu-dev, npu-tools and knpu-dkms, with
# lintian's report, in $(BUILD)/deb/.
.PHONY: deb
deb:
	packaging/scripts/build-deb.sh $(BUILD)/deb

# The install proof of those packages: a fresh bookworm root (debootstrap; the
# base root cached in $(KNPU_CACHE)/debootstrap) where apt installs them,
# DKMS builds knpu.ko against the root's linux-headers, and a pkg-config and
# a CMake consumer build and run. Needs root; not part of `make test`
# (docs/install.md). Builds the packages first when $(BUILD)/deb has none.
.PHONY: deb-install-test
deb-install-test: guest-kernel
	@ls $(BUILD)/deb/knpu-dkms_*.deb >/dev/null 2>&1 || $(MAKE) --no-print-directory deb
	packaging/tests/debootstrap-test.sh $(BUILD)/deb
