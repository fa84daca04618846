# fuzz.mk - libFuzzer targets for sluice (automake fragment; included at
# the end of Makefile.am with `include $(srcdir)/fuzz.mk`).
#
#   make fuzz                 builds the targets below into t/fuzz/ (build
#                             tree) and instrumented copies of the plugins
#                             into t/fuzz/plugins/
#   t/fuzz/run [SECONDS]      runs each target for FUZZ_SECONDS (default 60)
#                             on its seed corpus t/fuzz/corpus/NAME/ and fails
#                             on any crash, timeout, leak or sanitizer report
#
#   fuzz-header    the sluice/1 header parser (src/header.c)
#   fuzz-aesgcm    the aes-256-gcm decryptor (plugins/aesgcm-object.c)
#   fuzz-zstd      the zstd stage, reverse (plugins/zstd.c via a mini host)
#   fuzz-restore   the whole restore chain (src/ without main.c + plugins)
#   fuzz-extract   the archive stage extracting (plugins/archive*.c)
#   fuzz-manifest  the collection records: MANIFEST, INDEX, LOCALITIES
#                  (src/collection/manifest.c)
#   fuzz-s3xml     the s3 stage's listing reader: ListObjectsV2 and
#                  ListMultipartUploads answers (plugins/s3-xml.c)
#
# Nothing here is built by `make`, `make check` or `make distcheck`: only the
# `fuzz` target depends on it, and it uses its own compiler, $(FUZZ_CC)
# (clang with libFuzzer: Debian's clang + libclang-rt-dev), so the normal
# build needs no clang.  The targets are plain make rules (no automake
# _PROGRAMS), with ASan + UBSan and -fsanitize=fuzzer:
#     make fuzz FUZZ_CC=clang-16      another clang
#     make fuzz FUZZ_SAN=             no sanitizers (faster, less strict)

FUZZ_CC = clang
# pointer-overflow and nonnull-attribute are recoverable only so that
# t/fuzz/ubsan.supp can list known findings; t/fuzz/run sets
# halt_on_error=1, so any other report still stops the run.
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fsanitize-recover=pointer-overflow,nonnull-attribute
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_CPPFLAGS = -DHAVE_CONFIG_H -I$(top_builddir) \
	-I$(top_srcdir)/include -I$(top_srcdir)/src -I$(top_srcdir)/plugins \
	-I$(top_srcdir)/t/fuzz -DSLUICE_PLUGIN_DIR='"$(pkglibdir)"'
FUZZ_LINK = $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer
# Plugins for fuzz-restore: instrumented for coverage, not linked with
# libFuzzer (the executable provides it).
FUZZ_SHLINK = $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -fPIC -shared

FUZZ_CORE = $(top_srcdir)/src/block.c $(top_srcdir)/src/blockpool.c \
	$(top_srcdir)/src/stream.c \
	$(top_srcdir)/src/chainspec.c $(top_srcdir)/src/engine.c \
	$(top_srcdir)/src/secretcache.c $(top_srcdir)/src/stagekeys.c $(top_srcdir)/src/header.c \
	$(top_srcdir)/src/host.c $(top_srcdir)/src/loader.c \
	$(top_srcdir)/src/passphrase.c $(top_srcdir)/src/progress.c \
	$(top_srcdir)/src/redact.c $(top_srcdir)/src/status.c \
	$(top_srcdir)/src/memstage.c \
	$(top_srcdir)/src/sha256.c $(top_srcdir)/src/util.c
FUZZ_MINIHOST = $(top_srcdir)/t/fuzz/minihost.c $(top_srcdir)/t/fuzz/minihost.h
FUZZ_ARCHIVE = $(top_srcdir)/plugins/archive.c \
	$(top_srcdir)/plugins/archive-create.c \
	$(top_srcdir)/plugins/archive-extract.c \
	$(top_srcdir)/plugins/archive-madeset.c $(top_srcdir)/plugins/archive-dirfix.c \
	$(top_srcdir)/plugins/archive-bufs.c $(top_srcdir)/plugins/hugemap.c \
	$(top_srcdir)/plugins/archive-list.c
FUZZ_ZSTD = $(top_srcdir)/plugins/zstd.c $(top_srcdir)/plugins/zstd-frames.c \
	$(top_srcdir)/plugins/hugemap.c
FUZZ_AES = $(top_srcdir)/plugins/aes-256-gcm.c \
	$(top_srcdir)/plugins/aesgcm-object.c $(top_srcdir)/plugins/aesgcm-encinfo.c
# Every call of the archive stage that can change the file system goes
# through a checking wrapper in fuzz-extract.c.
FUZZ_EXTRACT_WRAP = -Wl,--wrap=openat -Wl,--wrap=mkdirat \
	-Wl,--wrap=unlinkat -Wl,--wrap=renameat -Wl,--wrap=linkat \
	-Wl,--wrap=symlinkat -Wl,--wrap=mkfifoat -Wl,--wrap=mknodat \
	-Wl,--wrap=fchownat -Wl,--wrap=fchmodat -Wl,--wrap=utimensat \
	-Wl,--wrap=fchown -Wl,--wrap=fchmod -Wl,--wrap=futimens \
	-Wl,--wrap=fsetxattr -Wl,--wrap=pwrite -Wl,--wrap=ftruncate \
	-Wl,--wrap=ioctl

FUZZ_TARGETS = t/fuzz/fuzz-header$(EXEEXT) t/fuzz/fuzz-aesgcm$(EXEEXT) \
	t/fuzz/fuzz-zstd$(EXEEXT) t/fuzz/fuzz-restore$(EXEEXT) \
	t/fuzz/fuzz-extract$(EXEEXT) t/fuzz/fuzz-manifest$(EXEEXT) \
	t/fuzz/fuzz-s3xml$(EXEEXT)
FUZZ_PLUGINS = t/fuzz/plugins/file.so t/fuzz/plugins/zstd.so \
	t/fuzz/plugins/aes-256-gcm.so t/fuzz/plugins/archive.so

fuzz: fuzz-cc-check $(FUZZ_TARGETS) $(FUZZ_PLUGINS)
	@echo "fuzz targets built in t/fuzz/; run them with $(top_srcdir)/t/fuzz/run"

# A clear message instead of a compiler error when clang/libFuzzer is missing.
fuzz-cc-check: config.h
	@$(MKDIR_P) t/fuzz/plugins
	@echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n); int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' >t/fuzz/cc-check.c
	@if $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o t/fuzz/cc-check t/fuzz/cc-check.c >/dev/null 2>&1; then \
		rm -f t/fuzz/cc-check t/fuzz/cc-check.c; \
	else \
		rm -f t/fuzz/cc-check t/fuzz/cc-check.c; \
		echo "make fuzz: '$(FUZZ_CC)' cannot build a libFuzzer target with '$(FUZZ_SAN)'." >&2; \
		echo "  On Debian: apt-get install clang libclang-rt-dev (or set FUZZ_CC=clang-NN)" >&2; \
		exit 1; \
	fi

t/fuzz/fuzz-header$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-header.c \
		$(top_srcdir)/src/header.c $(top_srcdir)/src/util.c \
		$(top_srcdir)/src/header.h $(top_srcdir)/src/util.h \
		$(top_srcdir)/include/sluice/plugin.h
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) -o $@ $(top_srcdir)/t/fuzz/fuzz-header.c \
		$(top_srcdir)/src/header.c $(top_srcdir)/src/util.c

t/fuzz/fuzz-aesgcm$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-aesgcm.c \
		$(top_srcdir)/plugins/aesgcm-object.c \
		$(top_srcdir)/plugins/aesgcm-object.h
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) $(CRYPTO_CFLAGS) -o $@ \
		$(top_srcdir)/t/fuzz/fuzz-aesgcm.c \
		$(top_srcdir)/plugins/aesgcm-object.c $(CRYPTO_LIBS)

t/fuzz/fuzz-zstd$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-zstd.c \
		$(FUZZ_ZSTD) $(top_srcdir)/plugins/zstd-stage.h \
		$(FUZZ_MINIHOST) $(top_srcdir)/include/sluice/plugin.h
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) $(ZSTD_CFLAGS) -pthread -o $@ \
		$(top_srcdir)/t/fuzz/fuzz-zstd.c $(top_srcdir)/t/fuzz/minihost.c \
		$(FUZZ_ZSTD) $(ZSTD_LIBS)

t/fuzz/fuzz-restore$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-restore.c \
		$(FUZZ_CORE) $(top_srcdir)/include/sluice/plugin.h
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) -pthread -rdynamic -o $@ \
		$(top_srcdir)/t/fuzz/fuzz-restore.c $(FUZZ_CORE) $(LIBS) -lpthread

t/fuzz/fuzz-extract$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-extract.c \
		$(FUZZ_ARCHIVE) $(top_srcdir)/plugins/archive-stage.h \
		$(FUZZ_MINIHOST) $(top_srcdir)/include/sluice/plugin.h
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) $(LIBARCHIVE_CFLAGS) $(FUZZ_EXTRACT_WRAP) \
		-o $@ $(top_srcdir)/t/fuzz/fuzz-extract.c \
		$(top_srcdir)/t/fuzz/minihost.c $(FUZZ_ARCHIVE) $(LIBARCHIVE_LIBS)

t/fuzz/fuzz-manifest$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-manifest.c \
		$(top_srcdir)/src/collection/manifest.c $(top_srcdir)/src/collection/manifest.h \
		$(top_srcdir)/src/util.c
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) -o $@ $(top_srcdir)/t/fuzz/fuzz-manifest.c \
		$(top_srcdir)/src/collection/manifest.c $(top_srcdir)/src/util.c

t/fuzz/fuzz-s3xml$(EXEEXT): $(top_srcdir)/t/fuzz/fuzz-s3xml.c \
		$(top_srcdir)/plugins/s3-xml.c $(top_srcdir)/plugins/s3-xml.h
	@$(MKDIR_P) t/fuzz
	$(FUZZ_LINK) $(FUZZ_CPPFLAGS) -o $@ $(top_srcdir)/t/fuzz/fuzz-s3xml.c \
		$(top_srcdir)/plugins/s3-xml.c

t/fuzz/plugins/file.so: $(top_srcdir)/plugins/file.c
	@$(MKDIR_P) t/fuzz/plugins
	$(FUZZ_SHLINK) $(FUZZ_CPPFLAGS) -o $@ $(top_srcdir)/plugins/file.c

t/fuzz/plugins/zstd.so: $(FUZZ_ZSTD) $(top_srcdir)/plugins/zstd-stage.h
	@$(MKDIR_P) t/fuzz/plugins
	$(FUZZ_SHLINK) $(FUZZ_CPPFLAGS) $(ZSTD_CFLAGS) -pthread -o $@ \
		$(FUZZ_ZSTD) $(ZSTD_LIBS)

t/fuzz/plugins/aes-256-gcm.so: $(FUZZ_AES) $(top_srcdir)/plugins/aesgcm-object.h
	@$(MKDIR_P) t/fuzz/plugins
	$(FUZZ_SHLINK) $(FUZZ_CPPFLAGS) $(CRYPTO_CFLAGS) -o $@ $(FUZZ_AES) \
		$(CRYPTO_LIBS)

t/fuzz/plugins/archive.so: $(FUZZ_ARCHIVE) $(top_srcdir)/plugins/archive-stage.h
	@$(MKDIR_P) t/fuzz/plugins
	$(FUZZ_SHLINK) $(FUZZ_CPPFLAGS) $(LIBARCHIVE_CFLAGS) -o $@ \
		$(FUZZ_ARCHIVE) $(LIBARCHIVE_LIBS)

fuzz-clean:
	-rm -rf t/fuzz/plugins t/fuzz/work t/fuzz/crashes t/fuzz/logs
	-rm -f $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-cc-check fuzz-clean

# The fuzz sources, seed corpora and this file go into the tarball (not
# t/fuzz as a whole: in an in-tree build it also holds what `make fuzz`
# and t/fuzz/run write).
EXTRA_DIST += fuzz.mk t/fuzz/run t/fuzz/make-corpus t/fuzz/sluice.dict \
	t/fuzz/s3xml.dict \
	t/fuzz/ubsan.supp t/fuzz/lsan.supp t/fuzz/known \
	t/fuzz/minihost.c t/fuzz/minihost.h t/fuzz/fuzz-header.c \
	t/fuzz/fuzz-aesgcm.c t/fuzz/fuzz-zstd.c t/fuzz/fuzz-restore.c \
	t/fuzz/fuzz-extract.c t/fuzz/fuzz-manifest.c t/fuzz/fuzz-s3xml.c \
	t/fuzz/corpus t/fuzz/findings
