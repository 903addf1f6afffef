#!/usr/bin/env bash
# A stand-in for bashio (https://github.com/hassio-addons/bashio) to run the add-on's s6
# scripts outside the Supervisor: `bash fake_bashio.sh SCRIPT [ARGS...]`, as the real
# `bashio SCRIPT` does. It sets the same shell options as bashio, defines the functions
# the scripts use with bashio's semantics (bashio::config is bashio's own jq query), and
# replaces what needs the Supervisor:
#
#   FAKE_BASHIO_OPTIONS    the options file (bashio reads /data/options.json)
#   FAKE_BASHIO_DISCOVERY  bashio::discovery appends {"service", "config"} here as a JSON line
#
# Log levels filter as in bashio, and bashio::discovery logs what bashio::api.supervisor
# logs around its request (the body at debug level, the arguments at trace level), so
# that a secret sent to the Supervisor shows in the log here exactly when it would there.
set -o errexit
set -o errtrace
set -o nounset
set -o pipefail

readonly __BASHIO_EXIT_OK=0
readonly __BASHIO_EXIT_NOK=1
__BASHIO_ADDON_CONFIG="${FAKE_BASHIO_OPTIONS:?FAKE_BASHIO_OPTIONS names the options file}"

readonly -A __BASHIO_LOG_LEVELS=([off]=0 [fatal]=1 [error]=2 [warning]=3 [notice]=4 [info]=5 [debug]=6 [trace]=7 [all]=8)
__BASHIO_LOG_LEVEL=5

bashio::log() { printf '%s [%s] %s\n' "$(date +%T)" "$1" "${*:2}" >&2; }
bashio::log.log() {
    if [[ "${__BASHIO_LOG_LEVELS[${1}]}" -le "${__BASHIO_LOG_LEVEL}" ]]; then
        bashio::log "${1^^}" "${@:2}"
    fi
}
bashio::log.trace() { bashio::log.log trace "$@"; }
bashio::log.debug() { bashio::log.log debug "$@"; }
bashio::log.info() { bashio::log.log info "$@"; }
bashio::log.notice() { bashio::log.log notice "$@"; }
bashio::log.warning() { bashio::log.log warning "$@"; }
bashio::log.error() { bashio::log.log error "$@"; }
bashio::log.fatal() { bashio::log.log fatal "$@"; }

bashio::log.level() {
    if [[ -z "${__BASHIO_LOG_LEVELS[${1,,}]+set}" ]]; then
        bashio::exit.nok "Unknown log_level: ${1}"
    fi
    __BASHIO_LOG_LEVEL="${__BASHIO_LOG_LEVELS[${1,,}]}"
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
    local payload
    bashio::log.trace "bashio::discovery:" "$@"
    payload="$(jq --null-input --compact-output --arg service "${service}" --argjson config "${config}" \
        '{service: $service, config: $config}')"
    bashio::log.debug "Requested API resource: http://supervisor/discovery"
    bashio::log.debug "Request data: ${payload}"
    printf '%s\n' "${payload}" >> "${FAKE_BASHIO_DISCOVERY:?}"
    bashio::log.debug 'API Response: {"result": "ok", "data": {"uuid": "fake-discovery-uuid"}}'
    echo "fake-discovery-uuid"
}

# shellcheck source=/dev/null
source "$@"
