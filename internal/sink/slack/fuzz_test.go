package slack_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/sextant-dev/sextant/internal/sink/slack"
	"github.com/sextant-dev/sextant/internal/sink/slack/slacktest"
)

// FuzzParseInteraction checks that ParseInteraction never panics, that
// whatever it accepts names a user and an action, and that the click it
// returns, sent again as Slack would send it, parses to the same click.
// Seeds live in testdata/fuzz/FuzzParseInteraction.
func FuzzParseInteraction(f *testing.F) {
	_, body := slacktest.SignedInteraction([]byte("s"), slacktest.BlockActions(click()), time.Unix(0, 0))
	f.Add(body)
	f.Add([]byte("payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"sextant_reject"}]}`)))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := slack.ParseInteraction(body)
		if err != nil {
			if in != (slack.Interaction{}) {
				t.Fatalf("ParseInteraction(%q) = %+v with error %v, want a zero Interaction", body, in, err)
			}
			return
		}
		if in.UserID == "" || in.ActionID == "" {
			t.Fatalf("ParseInteraction(%q) = %+v: no user or action", body, in)
		}
		_, again := slacktest.SignedInteraction([]byte("s"), slacktest.BlockActions(slacktest.Click{
			UserID: in.UserID, UserName: in.UserName, TeamID: in.TeamID,
			ActionID: in.ActionID, Value: in.Value,
			Channel: in.Channel, MessageTS: in.MessageTS, ResponseURL: in.ResponseURL,
		}), time.Unix(0, 0))
		in2, err := slack.ParseInteraction(again)
		if err != nil || in2 != in {
			t.Fatalf("ParseInteraction(re-sent %+v) = %+v, %v; want the same click", in, in2, err)
		}
	})
}
