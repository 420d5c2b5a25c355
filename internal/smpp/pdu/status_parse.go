package pdu

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseStatus reads a command_status written as a number (hex "0x58" or
// decimal "88") or as its name ("ESME_RTHROTTLED", any case).
func ParseStatus(s string) (Status, error) {
	if n, err := strconv.ParseUint(s, 0, 32); err == nil {
		return Status(n), nil
	}
	name := strings.ToUpper(s)
	for v := Status(0); v <= 0xFF; v++ {
		if v.Known() && v.String() == name {
			return v, nil
		}
	}
	return 0, fmt.Errorf("unknown command_status %q", s)
}
