# ---- install (included by the Makefile) ----
# make install / uninstall: the library (static, and shared with its soname),
# the headers tapegrad.h reaches under INCLUDEDIR/tapegrad, tapegrad.pc, the
# tapegrad command, man pages, and docs and examples under DOCDIR. Every
# directory can be moved; DESTDIR is prepended to all of them (packaging).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/tapegrad
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

# What the compiler says tapegrad.h includes (mk/public-headers.sh).
PUBLIC_HEADERS = $(shell sh mk/public-headers.sh '$(CC)')
MAN_PAGES := man/tapegrad.1 man/tapegrad-spec.5 man/libtapegrad.3
DOC_FILES := README.md CHANGELOG.md $(wildcard docs/*.md docs/*.svg docs/*.json)
EXAMPLE_FILES := $(wildcard $(foreach e,c h json md sh py svg sha256,examples/*/*.$(e) examples/*/*/*.$(e)))

# Private requirements are what `pkg-config --static` adds for libtapegrad.a:
# BLIS has no .pc file in Debian; libgomp is OpenMP (core/parallel.c). -lm
# is public: programs around a numeric library call sin and exp too (the
# README's example does), and "pkg-config --libs tapegrad" should be enough.
# Written on every make: it holds the install directories of this call.
.PHONY: tg-always
$(BUILD)/tapegrad.pc: tg-always
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: tapegrad' \
	  'Description: Tensors on a tape, autodiff and recurrent neural networks' \
	  'Version: $(TG_VERSION)' \
	  'Requires.private: libcjson' \
	  'Cflags: -I$${includedir}/tapegrad$(if $(CFLAGS_PREC), $(CFLAGS_PREC))' \
	  'Libs: -L$${libdir} -ltapegrad -lm' \
	  'Libs.private: -lblis -lgomp -lpthread' > $@

.PHONY: install uninstall
install: lib $(BUILD)/tapegrad $(BUILD)/tapegrad.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BUILD)/tapegrad $(DESTDIR)$(BINDIR)/tapegrad
	install -m 644 $(BUILD)/libtapegrad.a $(DESTDIR)$(LIBDIR)/libtapegrad.a
	install -m 644 $(BUILD)/$(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SO_REAL)
	ln -sf $(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libtapegrad.so
	install -m 644 $(BUILD)/tapegrad.pc $(DESTDIR)$(PKGCONFIGDIR)/tapegrad.pc
	for f in $(PUBLIC_HEADERS); do \
	  install -D -m 644 $$f $(DESTDIR)$(INCLUDEDIR)/tapegrad/$$f || exit 1; done
	for f in $(MAN_PAGES); do \
	  install -m 644 $$f $(DESTDIR)$(MANDIR)/man$${f##*.}/ || exit 1; done
	for f in $(DOC_FILES) $(EXAMPLE_FILES); do \
	  install -D -m 644 $$f $(DESTDIR)$(DOCDIR)/$$f || exit 1; done

# Removes what install put there, then the directories that are left empty
# (never a file it did not install).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tapegrad $(DESTDIR)$(LIBDIR)/libtapegrad.a \
	  $(DESTDIR)$(LIBDIR)/$(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SO_NAME) \
	  $(DESTDIR)$(LIBDIR)/libtapegrad.so $(DESTDIR)$(PKGCONFIGDIR)/tapegrad.pc \
	  $(addprefix $(DESTDIR)$(INCLUDEDIR)/tapegrad/,$(PUBLIC_HEADERS)) \
	  $(foreach f,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(f)))/$(notdir $(f))) \
	  $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOC_FILES) $(EXAMPLE_FILES))
	for d in $(DESTDIR)$(INCLUDEDIR)/tapegrad $(DESTDIR)$(DOCDIR); do \
	  [ ! -d $$d ] || find $$d -depth -type d -empty -delete; done

# Installs into a temporary DESTDIR, builds the README's C example there
# through pkg-config alone (shared and static), checks the shared library's
# exported symbols, uninstalls (tests/install/test_install.sh).
.PHONY: test-install
test-install: lib $(BUILD)/tapegrad
	sh tests/install/test_install.sh '$(MAKE)' '$(CC)'
