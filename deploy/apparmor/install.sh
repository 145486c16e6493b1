#!/bin/sh
# `make sandbox`: install and load deploy/apparmor/vaekit-bwrap where it is needed, and only there:
# AppArmor is active (apparmor_parser, /sys/kernel/security/apparmor), the kernel restricts unprivileged user
# namespaces (/proc/sys/kernel/apparmor_restrict_unprivileged_userns = 1, Ubuntu >= 23.10), and no other profile
# already covers /usr/bin/bwrap (e.g. Ubuntu 25.04's bwrap-userns-restrict). Elsewhere it says why it skipped.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
APPARMOR_FS=${APPARMOR_FS:-/sys/kernel/security/apparmor}
RESTRICT=${RESTRICT:-/proc/sys/kernel/apparmor_restrict_unprivileged_userns}
PROFILES=${PROFILES:-/etc/apparmor.d}

if ! command -v apparmor_parser >/dev/null 2>&1 || [ ! -d "$APPARMOR_FS" ]; then
  echo "AppArmor no está activo aquí: no hace falta perfil para bwrap"; exit 0
fi
if [ "$(cat "$RESTRICT" 2>/dev/null || echo 0)" != 1 ]; then
  echo "AppArmor no restringe los espacios de nombres de usuario aquí: no hace falta perfil para bwrap"; exit 0
fi
if grep -lqs "/usr/bin/bwrap" "$PROFILES"/* 2>/dev/null && ! [ -f "$PROFILES/vaekit-bwrap" ]; then
  echo "ya hay un perfil de AppArmor para /usr/bin/bwrap en $PROFILES: no instalo otro"; exit 0
fi
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
$SUDO install -m 644 "$HERE/vaekit-bwrap" "$PROFILES/vaekit-bwrap"
$SUDO apparmor_parser -r "$PROFILES/vaekit-bwrap"
echo "perfil de AppArmor para bwrap instalado y cargado: $PROFILES/vaekit-bwrap"
