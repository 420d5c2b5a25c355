package inbound

import (
	"strings"
	"unicode"
)

// Action is what a compliance keyword asks for.
type Action string

// Keyword actions.
const (
	ActionNone  Action = ""
	ActionStop  Action = "stop"  // opt out
	ActionStart Action = "start" // opt back in
	ActionHelp  Action = "help"  // send the help text
)

// KeywordSet is the keywords and replies of one language. A reply left
// empty is not sent.
type KeywordSet struct {
	Stop       []string `json:"stop"`
	Start      []string `json:"start"`
	Help       []string `json:"help"`
	StopReply  string   `json:"stop_reply"`
	StartReply string   `json:"start_reply"`
	HelpReply  string   `json:"help_reply"`
}

// DefaultKeywords are the CTIA-style English keywords and replies.
func DefaultKeywords() KeywordSet {
	return KeywordSet{
		Stop:       []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"},
		Start:      []string{"START", "UNSTOP", "YES"},
		Help:       []string{"HELP", "INFO"},
		StopReply:  "You have been unsubscribed and will receive no further messages. Reply START to resubscribe.",
		StartReply: "You have been resubscribed. Reply STOP to unsubscribe, HELP for help.",
		HelpReply:  "Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply.",
	}
}

// Keywords are the keyword sets by language, with optional overrides per
// sender address. The default language's keywords are always recognised,
// so STOP works whatever language a sender is set to.
type Keywords struct {
	Default   string                `json:"default_language"` // default "en"
	Languages map[string]KeywordSet `json:"languages"`        // "en" defaults to DefaultKeywords
	Senders   map[string]KeywordSet `json:"senders"`          // by sender address; empty fields fall back to the language's
}

// set returns the keyword set for a sender and language: the sender's
// overrides over the language's set over the default language's.
func (k *Keywords) set(sender, lang string) KeywordSet {
	def := k.Default
	if def == "" {
		def = "en"
	}
	base, ok := k.Languages[def]
	if !ok {
		base = DefaultKeywords()
	}
	if lang != "" && lang != def {
		if l, ok := k.Languages[lang]; ok {
			base = merge(base, l)
		}
	}
	if s, ok := k.Senders[sender]; ok {
		base = merge(base, s)
	}
	return base
}

// merge lays over's non-empty replies over base; keyword lists are
// joined, so the base words keep working.
func merge(base, over KeywordSet) KeywordSet {
	out := base
	out.Stop = append(append([]string(nil), base.Stop...), over.Stop...)
	out.Start = append(append([]string(nil), base.Start...), over.Start...)
	out.Help = append(append([]string(nil), base.Help...), over.Help...)
	for _, r := range []struct {
		dst *string
		v   string
	}{{&out.StopReply, over.StopReply}, {&out.StartReply, over.StartReply}, {&out.HelpReply, over.HelpReply}} {
		if r.v != "" {
			*r.dst = r.v
		}
	}
	return out
}

// Match returns the action the whole body asks for, and the keyword as
// written in the set. Case, surrounding punctuation and whitespace are
// ignored, and runs of spaces count as one ("Opt  out!" is OPT OUT); a
// keyword inside a longer text is not a match ("please stop" is not).
func (s *KeywordSet) Match(body string) (Action, string) {
	n := normalize(body)
	if n == "" {
		return ActionNone, ""
	}
	for _, c := range []struct {
		a  Action
		ws []string
	}{{ActionStop, s.Stop}, {ActionStart, s.Start}, {ActionHelp, s.Help}} {
		for _, w := range c.ws {
			if normalize(w) == n {
				return c.a, w
			}
		}
	}
	return ActionNone, ""
}

// Reply is the reply text for an action.
func (s *KeywordSet) Reply(a Action) string {
	switch a {
	case ActionStop:
		return s.StopReply
	case ActionStart:
		return s.StartReply
	case ActionHelp:
		return s.HelpReply
	}
	return ""
}

// normalize upper-cases s, trims punctuation, symbols and spaces at both
// ends and folds inner runs of spaces to one.
func normalize(s string) string {
	if len(s) > 64 {
		return "" // a keyword is a word or two
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r)
	})
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}
