// Package jira is sextant's Jira destination: it keeps one Jira issue per
// action, for Jira Cloud (REST API v3, rich text in Atlassian Document
// Format, Basic authentication with an account email and API token) and
// Jira Data Center or Server (REST API v2, rich text in wiki markup, Bearer
// authentication with a personal access token).
//
// The package is split as every sink is. BuildCreate, BuildComment,
// BuildTransition and Preview are pure functions that build the request
// bodies from a Config and a sextant.TicketContent (golden-tested under
// testdata/). Client sends them and implements sextant.TicketSink:
//
//   - Find searches the project for the label sextant.CorrelationKey(actionID)
//     (Cloud: GET /rest/api/3/search/jql, the only search left on Cloud;
//     Data Center: GET /rest/api/2/search), oldest issue first. Jira Cloud's
//     search is eventually consistent, so sextant's own record of the issue
//     key stays the first guard against a second issue.
//   - Create posts /issue: summary from the action's title (cut to 255
//     characters); a description with the facts (priority and score,
//     artifact, package and versions, findings, owner), the AI summary, the
//     vulnerabilities (CVE and GHSA IDs linked to their advisories), one
//     code block per fix command, the notes, the top five score factors and
//     the link to sextant; labels cfg.Labels + "sextant" + the correlation
//     key; the priority named by cfg.PriorityMap; cfg.Components and
//     cfg.CustomFields. It returns the key and cfg.BrowseURL/browse/KEY.
//   - Comment posts a comment; an empty comment sends nothing.
//   - Close and Reopen read the status, list its transitions and
//     take the one named cfg.CloseTransition or cfg.ReopenTransition
//     (case-insensitive, on the transition's name, then on its target
//     status's name), adding the comment in the same request. Both are
//     idempotent: Close of an issue whose status category is already done,
//     or Reopen of one that is not, sends nothing more and is not an error
//     (the comment is not added: the likely cause is a retry of a request
//     Jira had applied, or a person who got there first). When no
//     transition matches, the error is EINVALID and lists those available.
//
// Failures are *sextant.Error with codes mapped at this edge: 400 and other
// 4xx (such as 410 for a removed API) EINVALID with Jira's errorMessages and
// errors in the message; 401 and 403 EUNAUTHORIZED; 404 ENOTFOUND (also
// "not visible to this account"); 409 ECONFLICT; 429 ERATELIMITED; 5xx,
// network failures and unreadable success responses EUNAVAILABLE. A 429 or
// 5xx sets Error.RetryAfter from Retry-After (seconds or an HTTP date) or,
// for a 429, X-RateLimit-Reset. Response bodies are read up to 1 MiB.
//
// The token never appears in an error, and Config's String, GoString and
// LogValue hide it. The base URL must be https (http only on a loopback
// host, for tests).
//
// Text from findings (titles, package names, versions, summaries, notes,
// factor evidence, commands) is untrusted. On Cloud it only ever fills ADF
// text nodes and code blocks, so it cannot change the document's structure,
// and no text node is empty. On Data Center every markup character is
// escaped, backslashes become U+FF3C, lines cannot start with a heading or
// quote marker, and commands sit in {code} blocks they cannot close (or
// {noformat}); so no macro, link, image, mention or table can come from a
// finding. Links are only made by sextant: to NVD and GitHub advisories
// for well-formed CVE and GHSA IDs, and to sextant's own page.
//
// Package jiratest is a fake Jira of both flavors for tests. The
// configuration keys are described in docs/sinks/jira.md.
package jira
