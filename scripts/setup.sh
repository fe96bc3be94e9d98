#!/usr/bin/env bash
# Machine set-up for Houqin on Debian 12, run as root from the project's README. Idempotent and quick to
# re-run: apt is touched only when a package is missing, pip only when pyproject.toml (or the interpreter)
# changed since the last successful install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
STAMP="$ROOT/.cache/setup-pip.sha256"

# fonts-noto-cjk: the Chinese fonts of every PDF; poppler-utils: pdftotext/pdffonts in the tests;
# libharfbuzz-subset0: fast font subsetting; libpango*: WeasyPrint's text layout; chromium(-driver): the
# browser tests; faketime: the suite's second pass at a date far from today (no test reads the real date).
PACKAGES=(fonts-noto-cjk poppler-utils libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 chromium chromium-driver faketime)

step() { printf 'setup: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------------------
# One dpkg-query for all packages; a package never seen by dpkg prints nothing and so counts as missing.
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)"
missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! grep -qx "$pkg installed" <<<"$installed"; then
        missing+=("$pkg")
    fi
done
# pip itself, when the interpreter is Debian's and python3-pip is absent
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    missing+=(python3-pip)
fi

if ((${#missing[@]} == 0)); then
    step "apt: all ${#PACKAGES[@]} packages already installed"
else
    if ((EUID != 0)); then
        echo "setup: missing packages (${missing[*]}); run this script as root" >&2
        exit 1
    fi
    step "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    step "apt: done"
fi

# --- Python packages -------------------------------------------------------------------------------------
# The stamp covers what decides the install: the project's dependency list and the interpreter it went into.
want="$( { sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1; "$PYTHON" -c 'import sys; print(sys.executable, sys.version)'; } | sha256sum | cut -d' ' -f1)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
    && "$PYTHON" -c 'import importlib.metadata as m; m.distribution("houqin")' 2>/dev/null; then
    step "pip: houqin[dev] up to date (stamp matches pyproject.toml)"
else
    step "pip: installing -e .[dev]"
    pip_env=()
    # Debian's own python3 is "externally managed" (PEP 668); on this dedicated host the project owns it.
    # A virtualenv or another interpreter (PYTHON=...) is left alone.
    if "$PYTHON" -c 'import sys, sysconfig, os; sys.exit(not (sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))'; then
        pip_env=(PIP_BREAK_SYSTEM_PACKAGES=1)
    fi
    (cd "$ROOT" && env "${pip_env[@]}" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        "$PYTHON" -m pip install --quiet -e ".[dev]")
    mkdir -p "$(dirname "$STAMP")"
    printf '%s\n' "$want" >"$STAMP"
    step "pip: done"
fi

# --- checks ----------------------------------------------------------------------------------------------
if fc-list ':family=Noto Sans CJK SC' family | grep -q .; then
    step "fonts: Noto Sans CJK SC found by fontconfig"
else
    echo "setup: fontconfig does not see Noto Sans CJK SC (fonts-noto-cjk)" >&2
    exit 1
fi
step "ok"
