package index

import (
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/normalize"
)

// The SDK's text formats, byte for byte (see the SDK's text formats in README.md). Chat layers
// written against the SDK put these strings into LLM prompts, so a changed
// byte is a changed answer.

// actionDash separates an action's description from its URL: U+2014 EM DASH
// with one space each side.
const actionDash = " \u2014 "

// noProductID stands for an empty product id in a user block, as in the SDK.
const noProductID = "no-product-id"

// ActionLine renders one action as the SDK does:
// "[{index}] {type}: {description} — {canonical_url}". The title is not
// printed; fields are printed as they are, without escaping.
func ActionLine(a normalize.SlimAction) string {
	var b strings.Builder
	b.Grow(len(a.Type) + len(a.Description) + len(a.CanonicalURL) + 24)
	writeActionLine(&b, a)
	return b.String()
}

func writeActionLine(b *strings.Builder, a normalize.SlimAction) {
	b.WriteByte('[')
	b.WriteString(strconv.Itoa(a.Index))
	b.WriteString("] ")
	b.WriteString(a.Type)
	b.WriteString(": ")
	b.WriteString(a.Description)
	b.WriteString(actionDash)
	b.WriteString(a.CanonicalURL)
}

// SelectActions returns the actions to show, oldest first: those with At
// not older than lookback before now (lookback <= 0: no time filter), then
// only the last maxActions of them in arrival order (maxActions <= 0: no
// cap), the SDK's "newest N across payloads". actions is not modified; the
// result may share its backing array.
func SelectActions(actions []StoredAction, now time.Time, lookback time.Duration, maxActions int) []StoredAction {
	kept := actions
	if lookback > 0 {
		cutoff := cutoffSeconds(now, lookback)
		first := 0
		for first < len(actions) && actions[first].At >= cutoff {
			first++
		}
		if first < len(actions) { // at least one is too old: filter a copy
			kept = make([]StoredAction, first, len(actions))
			copy(kept, actions[:first])
			for _, a := range actions[first+1:] {
				if a.At >= cutoff {
					kept = append(kept, a)
				}
			}
		}
	}
	if maxActions > 0 && len(kept) > maxActions {
		kept = kept[len(kept)-maxActions:]
	}
	return kept
}

// SessionText renders one session's activity as the SDK's ContextStore.get
// does: "Summary: {summary}" when summary is not empty, then "Recent
// activity:" with one numbered ActionLine per action (numbering from 1 over
// the given actions; the bracketed index is the action's own), the two parts
// separated by a blank line. It is "" when there is neither.
func SessionText(summary string, actions []StoredAction) string {
	if summary == "" && len(actions) == 0 {
		return ""
	}
	size := len(summary) + 32
	for i := range actions {
		a := &actions[i].SlimAction
		size += len(a.Type) + len(a.Description) + len(a.CanonicalURL) + 32
	}
	var b strings.Builder
	b.Grow(size)
	if summary != "" {
		b.WriteString("Summary: ")
		b.WriteString(summary)
	}
	if len(actions) > 0 {
		if summary != "" {
			b.WriteString("\n\n")
		}
		b.WriteString("Recent activity:")
		for i := range actions {
			b.WriteByte('\n')
			b.WriteString(strconv.Itoa(i + 1))
			b.WriteString(". ")
			writeActionLine(&b, actions[i].SlimAction)
		}
	}
	return b.String()
}

// UserBlock renders one session of a user's activity as the SDK's
// UserSessionIndex.get_user_activity does:
// "Session {session_id} ({product_id or "no-product-id"}):\n{text}".
func UserBlock(sessionID, productID, text string) string {
	if productID == "" {
		productID = noProductID
	}
	return "Session " + sessionID + " (" + productID + "):\n" + text
}

// JoinBlocks joins the non-empty blocks with a blank line ("\n\n"), the
// SDK's get_user_activity text; sessions with no activity have no block.
func JoinBlocks(blocks []string) string {
	var b strings.Builder
	for _, s := range blocks {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	return b.String()
}
