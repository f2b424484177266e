// Package fix turns scored findings into deterministic remediation plans:
// one action per package upgrade, base-image rebuild, configuration fix or
// exposed secret, each with exact, copy-pasteable commands.
//
// Everything here is computed by code from scanner data; nothing comes from
// a language model. Versions are ordered with internal/version, and a target
// version is only ever proposed when it is provably newer than the installed
// version and at least every fixed version it claims to reach.
//
// Package names and versions come from untrusted report text. They are
// checked against each ecosystem's legal character set before they are put
// into a command, and shell-quoted where the shell would otherwise
// interpret them; a name that fails the check gets no command, only a note.
package fix
