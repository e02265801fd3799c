# callrec: see README.md. Every target works on a fresh Debian machine.

SHELL    := bash
.SHELLFLAGS := -o pipefail -ec
GO       ?= go
BIN      := bin
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

# Debian packages the tests use: lame (reference encoder), ffmpeg and mpg123
# (independent decoders).
TEST_DEBS := lame ffmpeg mpg123 sox tshark sip-tester baresip chromium fonts-dejavu-core 7zip
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test check bench bench-instructions run deps clean fuzz release

all: build

build:
	@mkdir -p $(BIN)
	GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/recorderd-linux-amd64 ./cmd/recorderd
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/recorderd-linux-arm64 ./cmd/recorderd
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/recorderd-linux-arm ./cmd/recorderd

# release builds a signed firmware bundle for the CM4 box (arm64):
#   make release RELEASE=1.4.0 KEY=path/to/release.key CERT=path/to/release.cert
# KEY is the release key's private file, CERT the root key's certificate
# for it (`recorderd firmware keygen|certify`). The test keys under
# tests/testdata/update make a bundle only a test build accepts.
RELEASE ?= 0.13.0
release:
	@test -n "$(KEY)" || { echo "make release: give KEY=path to the release key (and CERT=the root's certificate for it)"; exit 1; }
	@mkdir -p $(BIN)/release
	GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(RELEASE)' -o $(BIN)/release/recorderd ./cmd/recorderd
	$(GO) run ./cmd/recorderd firmware sign -key $(KEY) $(if $(CERT),-cert $(CERT)) -binary $(BIN)/release/recorderd \
		-version $(RELEASE) -model cm4 -arch arm64 -out $(BIN)/callrec-$(RELEASE)-cm4-arm64.zip

# deps installs the Debian packages the tests need, if any is missing.
deps:
	@missing=""; for p in $(TEST_DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# test runs every test. Tests that need a tool or root skip with a reason
# outside CI; with CI=true they fail instead.
test: deps
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 ./...

check: test
	$(GO) run $(STATICCHECK) ./...
	CGO_ENABLED=1 $(GO) test -race -short -count=1 ./...
	GOARCH=arm64 $(GO) build -o /dev/null ./cmd/recorderd
	GOARCH=arm GOARM=7 $(GO) build -o /dev/null ./cmd/recorderd

# bench prints the benchmarks as a table; ratios compare against reference
# tools (lame) measured in the same run.
bench: deps
	{ $(GO) test -run '^$$' -bench . -benchtime 10x ./recorder/mp3; \
	  $(GO) test -run '^$$' -bench . -benchtime 2s ./recorder/track; \
	  $(GO) test -run '^$$' -bench . -benchtime 3x -timeout 20m ./recorder/mix; \
	  $(GO) test -run '^$$' -bench . ./storage/vault; \
	  $(GO) test -run '^$$' -bench . -benchtime 3x ./storage/archive; \
	  $(GO) test -run '^$$' -bench . -benchtime 200x -timeout 20m ./storage/index; \
	  $(GO) test -run '^$$' -bench . -benchtime 20x -timeout 30m ./firmware/web; \
	  $(GO) test -run '^$$' -bench . -benchtime 5x ./firmware/bundle; \
	  $(GO) test -run '^$$' -bench EncryptionShare -benchtime 5x ./tests; \
	  $(GO) test -run '^$$' -bench ConcurrentRSS -benchtime 1x -timeout 20m ./tests; } | $(GO) run ./tests/benchtable

# bench-instructions counts the recording path's instructions and lame's
# on the same audio under callgrind: repeatable where CPU time is noisy.
bench-instructions: deps
	@command -v valgrind >/dev/null || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
	scripts/instructions.sh

# fuzz runs each fuzz target briefly (FUZZTIME=30s for longer).
FUZZTIME ?= 10s
FUZZ := firmware/cases:FuzzNumbers firmware/update:FuzzCheck firmware/console:FuzzParseNet recorder/mp3:FuzzEncoder recorder/capture:FuzzDecode recorder/capture:FuzzReader \
	recorder/sip:FuzzParse recorder/sip:FuzzParseSDP recorder/sip:FuzzE164 recorder/sip:FuzzParseCrypto recorder/track:FuzzTrack \
	recorder/rtp:FuzzChannel recorder/codec:FuzzDecoders storage/vault:FuzzReader storage/index:FuzzDecode \
	firmware/privacy:FuzzMaskNumbers firmware/web:FuzzQuery firmware/users:FuzzCheckPassword firmware/bundle:FuzzVerify
fuzz:
	@for f in $(FUZZ); do pkg=$${f%%:*}; name=$${f##*:}; \
		echo "fuzz $$name ($$pkg)"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) || exit 1; done

# run starts the daemon on the simulated board, capturing on loopback, and
# plays a few demo calls into it with SIPp. Live capture needs root (or
# CAP_NET_RAW). The web page is served on https://localhost:8443/ with a
# demo Head of IG, made for the demo data only. The recordings stay in
# ./demo-data until you delete it.
DEMO := demo-data
WEB  := 127.0.0.1:8443
run:
	@command -v sipp >/dev/null || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null; }
	@mkdir -p $(BIN) $(DEMO)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/recorderd ./cmd/recorderd
	@$(BIN)/recorderd run -board sim -iface lo -data $(DEMO)/data -key $(DEMO)/kek -web $(WEB) -web-redirect off -slots off \
		2> >(tee $(DEMO)/daemon.log >&2) & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid' INT TERM EXIT; \
	sleep 2; kill -0 $$pid 2>/dev/null || exit 1; \
	otp=$$($(BIN)/recorderd users add -name demo -role head_of_ig -who make-run -data $(DEMO)/data -key $(DEMO)/kek 2>/dev/null || \
	      $(BIN)/recorderd users reset -name demo -who make-run -data $(DEMO)/data -key $(DEMO)/kek 2>/dev/null); \
	echo; echo "The web page:  https://localhost:$(lastword $(subst :, ,$(WEB)))/  (a self-signed certificate: accept it in the browser)"; \
	echo "  sign in as:  demo"; \
	echo "  one-time password (demo data only; you choose your own at the first sign-in):  $$otp"; \
	echo "  search for:  01632 960101 (the demo calls go to 01632 960101 to 960103)"; \
	tech=$$($(BIN)/recorderd users add -name tech -role technician -who make-run -data $(DEMO)/data -key $(DEMO)/kek 2>/dev/null || \
	       $(BIN)/recorderd users reset -name tech -who make-run -data $(DEMO)/data -key $(DEMO)/kek 2>/dev/null); \
	pty=$$(grep -o 'pty=/dev/pts/[0-9]*' $(DEMO)/daemon.log | tail -1 | cut -d= -f2); \
	echo "The serial console (simulated):  screen $$pty   (sign in as tech, one-time password $$tech)"; \
	echo; scripts/demo-calls.sh 3; sleep 1; \
	echo; echo "Recordings (encrypted) are in $(DEMO)/data/recordings, the index in $(DEMO)/data/index.db."; \
	echo "  list them:   $(BIN)/recorderd calls -data $(DEMO)/data -key $(DEMO)/kek -why demo"; \
	echo "  check all:   $(BIN)/recorderd verify -data $(DEMO)/data -key $(DEMO)/kek"; \
	echo "The daemon keeps recording calls on loopback; Ctrl-C stops it."; \
	wait $$pid

clean:
	rm -rf $(BIN) $(DEMO)
