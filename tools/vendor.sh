#!/usr/bin/env bash
# Copy the pinned front-end dist files (package.json / package-lock.json) into static/vendor/.
# Run by `make vendor`; the copied files are committed so `make run` needs no npm.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund >/dev/null
dest=static/vendor
rm -rf "$dest"
mkdir -p "$dest/bootstrap" "$dest/bootstrap-icons/fonts" "$dest/htmx" "$dest/chartjs"
cp node_modules/bootstrap/dist/css/bootstrap.min.css "$dest/bootstrap/"
cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js "$dest/bootstrap/"
cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css "$dest/bootstrap-icons/"
cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff* "$dest/bootstrap-icons/fonts/"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx/"
cp node_modules/chart.js/dist/chart.umd.min.js "$dest/chartjs/"
# Source-map references point at files we do not ship; the manifest storage would fail on them.
find "$dest" -name '*.js' -o -name '*.css' | xargs sed -i -E '/sourceMappingURL=/d'
for pkg in bootstrap bootstrap-icons htmx.org chart.js; do
  printf '%s %s\n' "$pkg" "$(node -p "require('./node_modules/$pkg/package.json').version")"
done > "$dest/VERSIONS"
cat "$dest/VERSIONS"
