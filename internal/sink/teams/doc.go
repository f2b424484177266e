// Package teams posts sextant's actions to a Microsoft Teams channel through
// a Workflows (Power Automate) webhook: the "Post to a channel when a
// webhook request is received" template, which replaced the retired Office
// 365 connectors.
//
// NewPayload builds the message: an Adaptive Card 1.4 in the envelope the
// template expects (a pure function, golden-tested). Client posts it. The
// webhook URL carries its credential in the sig= query parameter, so it is
// a secret: it is never written in an error or a log line.
//
// Workflows webhooks are one-way. They cannot call sextant back, so
// approval buttons are Action.OpenUrl links to sextant's approval page
// (Config.ApprovalURL), where the approver signs in and decides. They
// cannot edit or delete a posted card either, so Update posts a new card
// showing the decision. And their 202 only means the flow started: a card
// the flow later fails to post is not reported. The format is described in
// docs/sinks/teams.md.
package teams
