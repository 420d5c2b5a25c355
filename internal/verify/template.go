package verify

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/herald-sms/herald/internal/herald"
)

// templates are the default texts per language, each with a warning not
// to share the code. They are written in GSM-7 characters (accents that
// GSM-7 lacks are left off, as is usual in SMS) so that a code fits one
// part of 160 characters even with a WebOTP line.
var templates = map[string]string{
	"en": "{code} is your verification code. Do not share it with anyone. It expires in {minutes} min.",
	"es": "{code} es tu codigo de verificacion. No lo compartas con nadie. Caduca en {minutes} min.",
	"fr": "{code} est votre code de vérification. Ne le partagez avec personne. Il expire dans {minutes} min.",
	"de": "{code} ist Ihr Bestätigungscode. Geben Sie ihn an niemanden weiter. Gültig für {minutes} Min.",
	"pt": "{code} é o seu codigo de verificacao. Nao o partilhe com ninguem. Expira em {minutes} min.",
	"it": "{code} è il tuo codice di verifica. Non condividerlo con nessuno. Scade tra {minutes} min.",
	"nl": "{code} is je verificatiecode. Deel deze met niemand. Verloopt over {minutes} min.",
}

// Locales lists the languages with a default template.
func Locales() []string {
	out := make([]string, 0, len(templates))
	for l := range templates {
		out = append(out, l)
	}
	return out
}

// language returns the template language of a locale ("pt-BR" → "pt"),
// or an error when there is no template for it.
func language(locale string) (string, error) {
	if locale == "" {
		return "en", nil
	}
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	lang, _, _ = strings.Cut(lang, "_")
	if _, ok := templates[lang]; !ok || len(locale) > 35 {
		return "", herald.FieldError("locale", "invalid_locale", "no template for locale %q; give a template or one of en, es, fr, de, pt, it, nl", locale)
	}
	return lang, nil
}

const maxTemplate = 320

// checkTemplate validates a custom template.
func checkTemplate(t string) error {
	if !utf8.ValidString(t) || utf8.RuneCountInString(t) > maxTemplate || strings.Count(t, "{code}") != 1 {
		return herald.FieldError("template", "invalid_template", "template must contain {code} once and be at most %d characters", maxTemplate)
	}
	return nil
}

// render builds the text of a code: the template with {code} and
// {minutes}, then the app hash (Android SMS Retriever) and the WebOTP
// line ("@example.com #123456", which must be last).
func render(tmpl, code string, minutes int, appHash, domain string) string {
	text := strings.NewReplacer("{code}", code, "{minutes}", strconv.Itoa(minutes)).Replace(tmpl)
	if appHash != "" {
		text += "\n" + appHash
	}
	if domain != "" {
		text += "\n\n@" + domain + " #" + code
	}
	return text
}

// redact masks every occurrence of the code: what is stored of the text.
func redact(text, code string) string {
	return strings.ReplaceAll(text, code, strings.Repeat("*", len(code)))
}

// checkAppHash accepts an Android SMS Retriever hash: 11 characters of
// base64.
func checkAppHash(h string) error {
	ok := len(h) == 11
	for i := 0; ok && i < len(h); i++ {
		c := h[i]
		ok = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/'
	}
	if !ok {
		return herald.FieldError("app_hash", "invalid_app_hash", "app_hash must be the 11-character hash of the Android app")
	}
	return nil
}

// checkDomain accepts a WebOTP origin host: lowercase DNS labels with at
// least one dot, no port.
func checkDomain(d string) error {
	bad := herald.FieldError("webotp_domain", "invalid_webotp_domain", "webotp_domain must be a host name such as example.com")
	if len(d) > 253 || !strings.Contains(d, ".") {
		return bad
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return bad
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return bad
			}
		}
	}
	return nil
}
