package phone

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// library answers as the intake did before this package: the region, and
// validity for that region.
func library(n *phonenumbers.PhoneNumber) (string, bool) {
	r := phonenumbers.GetRegionCodeForNumber(n)
	return r, phonenumbers.IsValidNumberForRegion(n, r)
}

// corpus returns numbers of every calling code: every region's example
// numbers of every type, the same with their last digits changed (mostly
// valid numbers), and random national numbers of every length (mostly
// invalid ones), in E.164-like text.
func corpus(perCode int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []string
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE,
			phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
			phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL} {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			out = append(out, e164)
			for k := 1; k <= 4 && k < len(e164)-3; k++ {
				out = append(out, e164[:len(e164)-k]+digits(k), e164[:len(e164)-k], e164+digits(k))
			}
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		for range perCode {
			out = append(out, "+"+strconv.Itoa(cc)+digits(2+rng.IntN(14)))
		}
	}
	return out
}

// TestRegionMatchesLibrary: Region answers as the library does, for every
// number of the corpus that parses.
func TestRegionMatchesLibrary(t *testing.T) {
	t.Parallel()
	perCode := 60
	if testing.Short() {
		perCode = 5
	}
	var valid, invalid int
	for _, raw := range corpus(perCode) {
		n, err := phonenumbers.Parse(raw, "")
		if err != nil {
			continue
		}
		wantRegion, wantValid := library(n)
		gotRegion, gotValid := Region(n)
		if gotRegion != wantRegion || gotValid != wantValid {
			t.Errorf("%s: Region = %q, %v; library %q, %v", raw, gotRegion, gotValid, wantRegion, wantValid)
		}
		if wantValid {
			valid++
		} else {
			invalid++
		}
	}
	if valid < 1000 || invalid < 1000 {
		t.Fatalf("corpus too narrow: %d valid, %d invalid numbers", valid, invalid)
	}
	t.Logf("%d valid and %d invalid numbers compared", valid, invalid)
}

// TestRegionNationalNumbers: numbers parsed from national form with a
// default region (national prefixes, Italian leading zeros) also agree.
func TestRegionNationalNumbers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ raw, region string }{
		{"07911 123456", "GB"}, {"07624 123456", "GB"}, {"01534 123456", "GB"}, {"02 1234 5678", "IT"},
		{"06 12345678", "IT"}, {"0612345678", "NL"}, {"(201) 555-0123", "US"}, {"(416) 555-0123", "US"},
		{"(876) 555-0123", "US"}, {"011 5411 1234 5678", "US"}, {"9 11 2345-6789", "AR"}, {"030 123456", "DE"},
		{"+800 1234 5678", "GB"}, {"+882 1234 5678", ""}, {"+7 701 123 4567", ""}, {"+7 912 345 6789", ""},
	} {
		n, err := phonenumbers.Parse(c.raw, c.region)
		if err != nil {
			continue
		}
		wantRegion, wantValid := library(n)
		if gotRegion, gotValid := Region(n); gotRegion != wantRegion || gotValid != wantValid {
			t.Errorf("%s (%s): Region = %q, %v; library %q, %v", c.raw, c.region, gotRegion, gotValid, wantRegion, wantValid)
		}
	}
}

// TestRegionConcurrent: the tables are built once and read concurrently
// (run with -race).
func TestRegionConcurrent(t *testing.T) {
	t.Parallel()
	n, err := phonenumbers.Parse("+447911123456", "")
	if err != nil {
		t.Fatal(err)
	}
	wantRegion, wantValid := library(n) // GG: 7911 is Guernsey's, within +44
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if r, ok := Region(n); r != wantRegion || ok != wantValid {
					t.Errorf("Region = %q, %v; want %q, %v", r, ok, wantRegion, wantValid)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzRegion(f *testing.F) {
	for _, s := range []string{"+447911123456", "+14155550123", "+8001234567", "+390212345678", "+5491123456789", "+12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, err := phonenumbers.Parse(raw, "")
		if err != nil {
			return
		}
		wantRegion, wantValid := library(n)
		if gotRegion, gotValid := Region(n); gotRegion != wantRegion || gotValid != wantValid {
			t.Errorf("%q: Region = %q, %v; library %q, %v", raw, gotRegion, gotValid, wantRegion, wantValid)
		}
	})
}

func BenchmarkRegion(b *testing.B) {
	n, err := phonenumbers.Parse("+447911123456", "")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("phone", func(b *testing.B) {
		for b.Loop() {
			Region(n)
		}
	})
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			library(n)
		}
	})
}
