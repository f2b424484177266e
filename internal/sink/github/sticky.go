package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
)

// maxCommentPages bounds how many pages of 100 comments StickyComment reads
// looking for its marker.
const maxCommentPages = 50

var markerName = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,100}$`)

// comment is an issue or pull-request comment as the client reads it.
type comment struct {
	ID      int64  `json:"id"`
	HTMLURL string `json:"html_url"`
	Body    string `json:"body"`
}

func (cm comment) ref() sextant.TicketRef {
	return sextant.TicketRef{ExternalID: strconv.FormatInt(cm.ID, 10), URL: cm.HTMLURL}
}

// StickyComment keeps one comment per marker on pull request (or issue)
// pr: the comment whose body begins with Marker(marker) is updated in place
// to body, or, when there is none, created. It is what sextant ci posts
// ("new and resolved risk in this change") and updates on the next push.
// An unchanged body is not sent again. body is markdown, sent as given:
// text from findings in it must already be escaped (EscapeText). marker
// is letters, digits and . _ : / - (at most 100). The reference is the
// comment's ID and URL.
func (c *Client) StickyComment(ctx context.Context, pr int, marker, body string) (sextant.TicketRef, error) {
	op := fmt.Sprintf("github: sticky comment %s on #%d", marker, pr)
	switch {
	case pr <= 0:
		return sextant.TicketRef{}, sextant.Errorf(sextant.EINVALID, "github: sticky comment: %d is not a pull request number", pr)
	case !markerName.MatchString(marker):
		return sextant.TicketRef{}, sextant.Errorf(sextant.EINVALID, "github: sticky comment: marker %q is not letters, digits and . _ : / -", oneLine(marker))
	}
	head := Marker(marker)
	full := truncate(head+"\n"+body, MaxBody, "\n\n… (cut)")

	next := c.url(c.repoPath(fmt.Sprintf("/issues/%d/comments", pr)), url.Values{"per_page": {"100"}})
	for page := 0; next != ""; page++ {
		if page == maxCommentPages {
			return sextant.TicketRef{}, sextant.Errorf(sextant.EINVALID, "%s: more than %d comments to look through", op, maxCommentPages*100)
		}
		var list []comment
		h, err := c.do(ctx, op, http.MethodGet, next, nil, &list)
		if err != nil {
			return sextant.TicketRef{}, err
		}
		for _, cm := range list {
			if !strings.HasPrefix(cm.Body, head) {
				continue
			}
			if cm.Body == full {
				return cm.ref(), nil
			}
			var got comment
			u := c.url(c.repoPath("/issues/comments/"+strconv.FormatInt(cm.ID, 10)), nil)
			if _, err := c.do(ctx, op, http.MethodPatch, u, map[string]string{"body": full}, &got); err != nil {
				return sextant.TicketRef{}, err
			}
			if got.ID == 0 {
				got = cm
			}
			return got.ref(), nil
		}
		if next, err = c.nextPage(op, h.Get("Link")); err != nil {
			return sextant.TicketRef{}, err
		}
	}
	var got comment
	if _, err := c.do(ctx, op, http.MethodPost, c.url(c.repoPath(fmt.Sprintf("/issues/%d/comments", pr)), nil), map[string]string{"body": full}, &got); err != nil {
		return sextant.TicketRef{}, err
	}
	if got.ID == 0 {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EUNAVAILABLE, "%s: GitHub answered without a comment id", op)
	}
	return got.ref(), nil
}

// nextPage returns the rel="next" URL of a Link header, "" when there is
// none. A next page on another scheme or host is refused: the token must
// not follow it.
func (c *Client) nextPage(op, link string) (string, error) {
	next := parseLink(link)["next"]
	if next == "" {
		return "", nil
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return "", sextant.Errorf(sextant.EUNAVAILABLE, "%s: refusing to follow a next-page link off %s", op, c.base.Host)
	}
	return u.String(), nil
}

// parseLink reads an RFC 8288 Link header into URLs by rel, as GitHub
// writes it: <url>; rel="next", <url>; rel="last".
func parseLink(h string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		target = strings.TrimSpace(target)
		if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) != "rel" {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				out[rel] = target[1 : len(target)-1]
			}
		}
	}
	return out
}
