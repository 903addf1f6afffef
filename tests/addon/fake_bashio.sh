#!/usr/bin/env bash
# A stand-in for bashio (https://github.com/hassio-addons/bashio) to run the add-on's s6
# scripts outside the Supervisor: `bash fake_bashio.sh SCRIPT [ARGS...]`, as the real
# `bashio SCRIPT` does. It sets the same shell options as bashio, defines the functions
# the scripts use with bashio's semantics (bashio::config is bashio's own jq query), and
# replaces what needs the Supervisor:
#
#   FAKE_BASHIO_OPTIONS    the options file (bashio reads /data/options.json)
#   FAKE_BASHIO_DISCOVERY  bashio::discovery appends {"service", "config"} here as a JSON line
set -o errexit
set -o errtrace
set -o nounset
set -o pipefail

readonly __BASHIO_EXIT_OK=0
readonly __BASHIO_EXIT_NOK=1
__BASHIO_ADDON_CONFIG="${FAKE_BASHIO_OPTIONS:?FAKE_BASHIO_OPTIONS names the options file}"

bashio::log() { printf '%s [%s] %s\n' "$(date +%T)" "$1" "${*:2}" >&2; }
bashio::log.trace() { :; }
bashio::log.debug() { bashio::log DEBUG "$@"; }
bashio::log.info() { bashio::log INFO "$@"; }
bashio::log.notice() { bashio::log NOTICE "$@"; }
bashio::log.warning() { bashio::log WARNING "$@"; }
bashio::log.error() { bashio::log ERROR "$@"; }
bashio::log.fatal() { bashio::log FATAL "$@"; }

bashio::log.level() {
    case "${1}" in
        all | trace | debug | info | notice | warning | error | fatal | off) return "${__BASHIO_EXIT_OK}" ;;
        *) bashio::log.error "bashio::log.level: unknown level '${1}'"; return "${__BASHIO_EXIT_NOK}" ;;
    esac
}

bashio::exit.nok() {
    [[ $# -gt 0 ]] && bashio::log.fatal "$@"
    exit "${__BASHIO_EXIT_NOK}"
}

bashio::var.has_value() { [[ -n "${1}" ]]; }

bashio::jq() {
    jq --raw-output --compact-output "${2}" "${1}"
}

bashio::config() {
    local key=${1}
    local query
    read -r -d '' query << QUERY || true
        if (.${key} == null) then
            null
        elif (.${key} | type == "string") then
            .${key} // empty
        elif (.${key} | type == "boolean") then
            .${key} // false
        elif (.${key} | type == "array") then
            if (.${key} == []) then
                empty
            else
                .${key}[]
            end
        elif (.${key} | type == "object") then
            if (.${key} == {}) then
                empty
            else
                .${key}
            end
        else
            .${key}
        end
QUERY
    printf '%s' "$(bashio::jq "${__BASHIO_ADDON_CONFIG}" "${query}")"
}

bashio::config.has_value() {
    local value
    value="$(bashio::config "${1}")"
    [[ "${value}" != "null" ]] && bashio::var.has_value "${value}"
}

bashio::discovery() {
    local service=${1}
    local config=${2}
    jq --null-input --compact-output --arg service "${service}" --argjson config "${config}" \
        '{service: $service, config: $config}' >> "${FAKE_BASHIO_DISCOVERY:?}"
    echo "fake-discovery-uuid"
}

# shellcheck source=/dev/null
source "$@"
