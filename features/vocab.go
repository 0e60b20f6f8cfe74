package features

import "strings"

// Other is the categorical value of any known-but-unlisted input; "" means missing.
const Other = "other"

// vocab is the closed value set of one categorical feature. Inputs are
// normalised by norm when compiled, so Extract needs only a map lookup.
type vocab struct {
	values []string          // canonical values, Other last
	alias  map[string]string // normalised input → canonical value
	lang   bool              // also try the two-letter prefix ("en_us" → "en")
}

func newVocab(values []string, aliases map[string]string) *vocab {
	v := &vocab{values: append(values, Other), alias: make(map[string]string, len(values)+len(aliases))}
	for _, s := range values {
		v.alias[s] = s
	}
	for a, s := range aliases {
		v.alias[a] = s
	}
	return v
}

// lookup maps a normalised stored value to its canonical value without allocating.
func (v *vocab) lookup(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := v.alias[s]; ok {
		return c
	}
	if v.lang && len(s) > 2 && (s[2] == '_' || s[2] == '-') {
		if c, ok := v.alias[s[:2]]; ok {
			return c
		}
	}
	return Other
}

// norm lowercases s and joins words with '_' ("Financial Services" →
// "financial_services"); it allocates only when s changes.
func norm(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c == ' ' || c == '-' || c == '/' || c == '&' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '-' || c == '/' || c == '&':
			sep = b.Len() > 0
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('_')
			sep = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Lifecycle states, in the order of the CRM funnel; "new" is implied by the
// first event of a lead that has no status yet.
var lifecycle = []string{"new", "mql", "sql", "accepted", "rejected", "returned", "nurture", "converted", "disqualified"}

func normStatus(s string) (string, bool) {
	n := norm(s)
	for _, v := range lifecycle[1:] {
		if n == v {
			return v, true
		}
	}
	return "", false
}

// The vocabularies of contract v1; changing one is a new Spec.Version.
var (
	vocIndustry = newVocab([]string{"software", "it_services", "financial_services", "insurance",
		"healthcare", "pharma", "manufacturing", "retail", "ecommerce", "education", "government",
		"media", "telecom", "energy", "professional_services", "real_estate", "transportation",
		"hospitality", "nonprofit"},
		map[string]string{"saas": "software", "technology": "software", "tech": "software",
			"computer_software": "software", "internet": "software", "it": "it_services",
			"information_technology": "it_services", "finance": "financial_services",
			"banking": "financial_services", "fintech": "financial_services", "health_care": "healthcare",
			"hospital": "healthcare", "pharmaceuticals": "pharma", "biotech": "pharma", "life_sciences": "pharma",
			"e_commerce": "ecommerce", "higher_education": "education", "public_sector": "government",
			"telecommunications": "telecom", "utilities": "energy", "consulting": "professional_services",
			"legal": "professional_services", "logistics": "transportation", "travel": "hospitality",
			"non_profit": "nonprofit", "ngo": "nonprofit"})
	vocSize = newVocab([]string{"1_10", "11_50", "51_200", "201_500", "501_1000", "1001_5000", "5001_plus"},
		map[string]string{"1": "1_10", "2_10": "1_10", "5001+": "5001_plus", "5000+": "5001_plus",
			"10000+": "5001_plus", "5001_10000": "5001_plus", "10001+": "5001_plus"})
	vocCountry = newVocab([]string{"us", "ca", "gb", "ie", "de", "fr", "nl", "be", "es", "it",
		"ch", "at", "se", "no", "dk", "fi", "pl", "au", "nz", "in", "jp", "sg", "br", "mx"},
		map[string]string{"usa": "us", "united_states": "us", "uk": "gb", "united_kingdom": "gb",
			"great_britain": "gb", "germany": "de", "deutschland": "de", "france": "fr",
			"netherlands": "nl", "spain": "es", "italy": "it", "canada": "ca", "australia": "au",
			"india": "in", "japan": "jp", "brazil": "br", "mexico": "mx", "ireland": "ie"})
	vocRegion = newVocab([]string{"na", "latam", "emea", "apac"},
		map[string]string{"north_america": "na", "amer": "na", "americas": "na", "us": "na",
			"south_america": "latam", "latin_america": "latam", "europe": "emea", "eu": "emea",
			"middle_east": "emea", "africa": "emea", "asia": "apac", "asia_pacific": "apac", "anz": "apac"})
	vocSeniority = newVocab([]string{"c_level", "vp", "director", "manager", "individual"},
		map[string]string{"clevel": "c_level", "cxo": "c_level", "executive": "c_level",
			"owner": "c_level", "founder": "c_level", "vice_president": "vp", "svp": "vp", "evp": "vp",
			"head": "director", "head_of": "director", "senior_manager": "manager", "lead": "manager",
			"ic": "individual", "staff": "individual", "senior": "individual", "entry": "individual",
			"individual_contributor": "individual", "student": "individual"})
	vocLanguage = langVocab()
	vocSource   = newVocab([]string{"website", "referral", "organic_search", "paid_search", "paid_social",
		"social", "email", "event", "webinar", "partner", "purchased_list", "outbound", "chat"},
		map[string]string{"web": "website", "inbound": "website", "direct": "website", "form": "website",
			"web_form": "website", "seo": "organic_search", "organic": "organic_search",
			"google_organic": "organic_search", "ppc": "paid_search", "cpc": "paid_search",
			"sem": "paid_search", "adwords": "paid_search", "google_ads": "paid_search",
			"paid": "paid_search", "linkedin_ads": "paid_social", "facebook_ads": "paid_social",
			"paidsocial": "paid_social", "linkedin": "social", "twitter": "social", "facebook": "social",
			"newsletter": "email", "email_campaign": "email", "tradeshow": "event", "trade_show": "event",
			"conference": "event", "reseller": "partner", "affiliate": "partner", "list": "purchased_list",
			"purchased": "purchased_list", "list_import": "purchased_list", "cold_call": "outbound",
			"cold_email": "outbound", "sdr": "outbound", "live_chat": "chat", "chatbot": "chat"})
	vocMedium = newVocab([]string{"cpc", "email", "social", "organic", "referral", "display", "affiliate"},
		map[string]string{"ppc": "cpc", "paid_search": "cpc", "paid": "cpc", "newsletter": "email",
			"paid_social": "social", "social_media": "social", "seo": "organic", "banner": "display"})
	vocBudget = newVocab([]string{"approved", "planned", "none"},
		map[string]string{"yes": "approved", "confirmed": "approved", "allocated": "approved",
			"pending": "planned", "next_year": "planned", "no": "none", "unknown": "none"})
	vocAuthority = newVocab([]string{"decision_maker", "influencer", "evaluator", "none"},
		map[string]string{"yes": "decision_maker", "dm": "decision_maker", "economic_buyer": "decision_maker",
			"champion": "influencer", "user": "evaluator", "end_user": "evaluator", "no": "none"})
	vocNeed = newVocab([]string{"high", "medium", "low", "none"},
		map[string]string{"yes": "high", "critical": "high", "urgent": "high", "some": "medium",
			"maybe": "medium", "nice_to_have": "low", "no": "none"})
	vocTimeline = newVocab([]string{"now", "lt_3m", "3_6m", "6_12m", "gt_12m", "none"},
		map[string]string{"immediate": "now", "asap": "now", "this_month": "now", "1_3m": "lt_3m",
			"this_quarter": "lt_3m", "<3m": "lt_3m", "next_quarter": "3_6m", "this_year": "6_12m",
			"12m+": "gt_12m", "next_year": "gt_12m", "no": "none", "unknown": "none"})
	vocConsent = newVocab([]string{"yes", "no"}, nil)
	vocState   = newVocab(append([]string(nil), lifecycle...), nil)
	vocOutcome = newVocab([]string{"connected", "no_answer", "voicemail", "busy", "wrong_number",
		"meeting_booked", "callback", "not_interested", "do_not_call"},
		map[string]string{"answered": "connected", "conversation": "connected", "noanswer": "no_answer",
			"no_response": "no_answer", "left_voicemail": "voicemail", "vm": "voicemail",
			"bad_number": "wrong_number", "invalid_number": "wrong_number", "meeting": "meeting_booked",
			"booked": "meeting_booked", "call_back": "callback", "callback_requested": "callback",
			"dnc": "do_not_call"})
)

func langVocab() *vocab {
	v := newVocab([]string{"en", "de", "fr", "es", "pt", "it", "nl", "sv", "pl", "ja", "zh", "ko"},
		map[string]string{"english": "en", "german": "de", "deutsch": "de", "french": "fr",
			"spanish": "es", "portuguese": "pt", "italian": "it", "dutch": "nl", "japanese": "ja",
			"chinese": "zh"})
	v.lang = true
	return v
}

// sizeBand maps a head count to a company-size band.
func sizeBand(n float64) string {
	switch {
	case n <= 0:
		return ""
	case n <= 10:
		return "1_10"
	case n <= 50:
		return "11_50"
	case n <= 200:
		return "51_200"
	case n <= 500:
		return "201_500"
	case n <= 1000:
		return "501_1000"
	case n <= 5000:
		return "1001_5000"
	}
	return "5001_plus"
}
