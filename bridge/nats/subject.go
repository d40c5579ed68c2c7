package natsbridge

import (
	"fmt"
	"strings"
	"unicode"
)

// CheckSubject refuses (ErrConfig) a subject NATS cannot carry: a token
// left empty ("a..b", ".a", "a."), white space or a control character
// (NUL, form feed, ...), a ">" before the last token, and for publishing
// (wildcards false) a wildcard token ("*", ">").
// NewOut and NewIn check their subject with it before they take a role;
// a program may check one before it connects. Left to the client, a
// publish to one fails only at the first message, with the ring already
// leased, and one such as "a..b" is accepted and reaches no subscriber
// while the bridge counts it forwarded.
func CheckSubject(subject string, wildcards bool) error {
	if subject == "" {
		return fmt.Errorf("%w: empty subject", ErrConfig)
	}
	if strings.IndexFunc(subject, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%w: subject %q holds white space or a control character", ErrConfig, subject)
	}
	tokens := strings.Split(subject, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return fmt.Errorf("%w: subject %q has an empty token", ErrConfig, subject)
		case (t == "*" || t == ">") && !wildcards:
			return fmt.Errorf("%w: subject %q has a wildcard (%s): a bridge publishes to one subject", ErrConfig, subject, t)
		case t == ">" && i != len(tokens)-1:
			return fmt.Errorf("%w: subject %q: > must be its last token", ErrConfig, subject)
		}
	}
	return nil
}
