// Package slack posts sextant's actions to a Slack channel and reads the
// button clicks that come back.
//
// Outbound, NewMessage builds a Block Kit message for a sextant.ChatMessage
// (a pure function, golden-tested) and Client sends it with the Web API
// methods chat.postMessage and chat.update, authenticated with a bot token.
// Slack answers application errors with HTTP 200 and {"ok": false, "error":
// …}; Client maps both those and HTTP failures to sextant error codes.
//
// Inbound, VerifyRequest checks Slack's v0 request signature and
// ParseInteraction decodes a block_actions payload: the click on an Approve
// or Reject button. The HTTP layer calls them in that order, on the raw
// body, and must authorise the decision on Interaction.UserID (and TeamID),
// never on the button value alone.
//
// Every piece of finding text (titles, package names, summaries, notes) is
// untrusted: it is escaped so that it cannot form a link, a mention such as
// <!channel>, or leave its code block. The wire format is described in
// docs/sinks/slack.md.
package slack
