package api

import (
	"context"
	"net/http"
	"time"

	"github.com/herald-sms/herald/internal/fraud"
	"github.com/herald-sms/herald/internal/herald"
)

// FraudGuard is the fraud guard's API side (internal/fraud implements it).
type FraudGuard interface {
	// Blocks returns the account's recent blocks, oldest first.
	Blocks(ctx context.Context, accountID string) ([]*herald.FraudBlock, error)
	// Unblock lifts one of the account's active blocks by hand
	// (KindNotFound for an unknown id, KindConflict when it has ended).
	Unblock(ctx context.Context, accountID, id string) (*herald.FraudBlock, error)
	// ConversionStats returns the account's verifications sent and
	// approved per country and per prefix (at most limit) over window.
	ConversionStats(accountID string, limit int) (window time.Duration, countries, prefixes []fraud.ConversionStat)
}

// conversionView answers GET /v1/fraud/conversion.
type conversionView struct {
	Window    string                 `json:"window"`
	Countries []fraud.ConversionStat `json:"countries"`
	Prefixes  []fraud.ConversionStat `json:"prefixes"`
}

// fraudConversion answers GET /v1/fraud/conversion: the account's
// verification conversion per country and for its 100 busiest prefixes
// over the fraud guard's window.
func (s *Server) fraudConversion(w http.ResponseWriter, r *http.Request, account string) error {
	out := conversionView{Window: "0s", Countries: []fraud.ConversionStat{}, Prefixes: []fraud.ConversionStat{}}
	if s.fraud != nil {
		win, cs, ps := s.fraud.ConversionStats(account, 100)
		out.Window = win.String()
		if cs != nil {
			out.Countries = cs
		}
		if ps != nil {
			out.Prefixes = ps
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

type fraudBlockList struct {
	Data []herald.FraudBlockView `json:"data"`
}

// listFraudBlocks answers GET /v1/fraud/blocks.
func (s *Server) listFraudBlocks(w http.ResponseWriter, r *http.Request, account string) error {
	if s.fraud == nil {
		return writeJSON(w, http.StatusOK, fraudBlockList{Data: []herald.FraudBlockView{}})
	}
	bs, err := s.fraud.Blocks(r.Context(), account)
	if err != nil {
		return storeError(err, "fraud block")
	}
	now := s.now()
	out := fraudBlockList{Data: make([]herald.FraudBlockView, 0, len(bs))}
	for _, b := range bs {
		out.Data = append(out.Data, b.View(now))
	}
	return writeJSON(w, http.StatusOK, out)
}

// unblockFraudBlock answers POST /v1/fraud/blocks/{id}/unblock.
func (s *Server) unblockFraudBlock(w http.ResponseWriter, r *http.Request, account string) error {
	id, err := pathID(r, "fraud block")
	if err != nil {
		return err
	}
	if s.fraud == nil {
		return notFound("fraud block")
	}
	b, err := s.fraud.Unblock(r.Context(), account, id)
	if err != nil {
		return storeError(err, "fraud block")
	}
	return writeJSON(w, http.StatusOK, b.View(s.now()))
}
