package phone

import (
	"maps"
	"math/rand/v2"
	"slices"
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
// invalid ones), in E.164-like text; in short tests and race builds, a
// sample of them.
func corpus(perCode int) []string {
	all := fullCorpus(perCode)
	every := corpusEvery
	if testing.Short() {
		every *= 5
	}
	var out []string
	for i := 0; i < len(all); i += every {
		out = append(out, all[i])
	}
	return out
}

func fullCorpus(perCode int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []string
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	regions := slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions()))
	for _, region := range regions {
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
	for _, cc := range slices.Sorted(maps.Keys(phonenumbers.GetSupportedCallingCodes())) {
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
	var valid, invalid int
	for _, raw := range corpus(60) {
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
	if min(valid, invalid) < 3000/corpusEvery/5 {
		t.Fatalf("corpus too narrow: %d valid, %d invalid numbers", valid, invalid)
	}
	t.Logf("%d valid and %d invalid numbers compared", valid, invalid)
}

// libraryParse is Parse done entirely by the library.
func libraryParse(raw, defaultRegion string) (e164, region string, valid bool, err error) {
	n, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		return "", "", false, err
	}
	region, valid = library(n)
	return phonenumbers.Format(n, phonenumbers.E164), region, valid, nil
}

func checkParse(t *testing.T, raw, defaultRegion string) {
	t.Helper()
	e164, region, valid, err := Parse(raw, defaultRegion)
	we164, wregion, wvalid, werr := libraryParse(raw, defaultRegion)
	if (err == nil) != (werr == nil) || e164 != we164 || region != wregion || valid != wvalid {
		t.Errorf("Parse(%q, %q) = %q, %q, %v, %v; library %q, %q, %v, %v", raw, defaultRegion,
			e164, region, valid, err, we164, wregion, wvalid, werr)
	}
}

// TestParseMatchesLibrary: Parse answers as the library does on the
// corpus, with and without a default region, on the fast path and off it
// (national prefixes after the calling code, leading zeros, spaces).
func TestParseMatchesLibrary(t *testing.T) {
	t.Parallel()
	fast, slow := 0, 0
	for _, raw := range corpus(60) {
		for _, def := range []string{"", "GB"} {
			checkParse(t, raw, def)
		}
		if _, _, ok := plain(raw); ok {
			fast++
		} else {
			slow++
		}
		// The same digits in other shapes the fast path must leave to
		// the library.
		checkParse(t, raw[:min(len(raw), 4)]+" "+raw[min(len(raw), 4):], "")
		checkParse(t, raw[1:], "US")
	}
	for _, raw := range []string{"+", "+1", "+12", "+123", "+0123456", "+44", "+4407911123456", "+39 02 1234 5678",
		"+390212345678", "+3906698", "+78005553535", "+79123456789", "+5491123456789", "+52155512345678",
		"+8801712345678", "+1800555012", "+80012345678", "+441234567890123456789", "++447911123456",
		"+447911123456x12", "+447911123456;ext=1", "+44 7911 123456", "+４４7911123456", "+7 8 912 345 6789"} {
		checkParse(t, raw, "")
		checkParse(t, raw, "GB")
	}
	if fast < 5000/corpusEvery/5 || slow < 300/corpusEvery/5 {
		t.Fatalf("fast path taken %d times, library %d: the corpus misses one of them", fast, slow)
	}
	t.Logf("%d numbers on the fast path, %d through the library", fast, slow)
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
			t.Errorf("%s (%s): the library cannot parse it: %v", c.raw, c.region, err)
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

func FuzzParse(f *testing.F) {
	for _, s := range []string{"+447911123456", "+14155550123", "+8001234567", "+390212345678", "+5491123456789",
		"07911 123456", "+78005553535"} {
		f.Add(s, "")
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, raw, defaultRegion string) {
		if len(raw) > 64 {
			return
		}
		checkParse(t, raw, defaultRegion)
	})
}

func BenchmarkParse(b *testing.B) {
	b.Run("phone", func(b *testing.B) {
		for b.Loop() {
			Parse("+447911123456", "")
		}
	})
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			libraryParse("+447911123456", "")
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
