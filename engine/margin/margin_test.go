package margin

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRequireCombination(t *testing.T) {
	c := DefaultConfig()
	c.Floor = 60
	c.ConcentrationRate = 0.1
	c.ConcentrationThreshold = 1000
	cases := []struct {
		name   string
		m      Measures
		models Models
		base   float64
		driver string
	}{
		{"es drives", Measures{VaR: 50, ES: 80, Stress: 70, HasPositions: true}, Models{Scenarios: true, Stress: true}, 80, "es"},
		{"var drives", Measures{VaR: 90, ES: 80, Stress: 70, HasPositions: true}, Models{Scenarios: true, Stress: true}, 90, "var"},
		{"stress drives", Measures{VaR: 90, ES: 80, Stress: 170, HasPositions: true}, Models{Scenarios: true, Stress: true}, 170, "stress"},
		{"floor drives", Measures{VaR: 9, ES: 8, Stress: 7, HasPositions: true}, Models{Scenarios: true, Stress: true}, 60, "floor"},
		{"no positions, no floor", Measures{}, Models{Scenarios: true, Stress: true}, 0, "none"},
		{"stress not selected", Measures{VaR: 190, ES: 180, Stress: 270, HasPositions: true}, Models{Scenarios: true}, 190, "var"},
		{"scenarios not selected", Measures{VaR: 900, ES: 800, Stress: 170, HasPositions: true}, Models{Stress: true}, 170, "stress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.Models = tc.models
			r := c.Require(&tc.m)
			if r.Base != tc.base || r.Driver != tc.driver {
				t.Fatalf("base %v driver %q, want %v %q", r.Base, r.Driver, tc.base, tc.driver)
			}
			if r.IM != r.Base+r.Credit+r.Concentration || r.MM != c.MMFraction*r.IM {
				t.Fatalf("IM/MM do not add up: %+v", r)
			}
		})
	}
}

func TestAddOns(t *testing.T) {
	c := DefaultConfig()
	c.ConcentrationRate = 0.05
	c.ConcentrationThreshold = 1e6
	m := Measures{ES: 200000, VaR: 150000, HasPositions: true, PD: 0.02, LGD: 0.5, DeltaNotional: []float64{3e6, 0.5e6, 1e6}}
	r := c.Require(&m)
	if want := 0.02 * 0.5 * 200000; math.Abs(r.Credit-want) > 1e-9 {
		t.Fatalf("credit add-on %v, want PD×LGD×EAD = %v", r.Credit, want)
	}
	if want := 0.05 * 2e6; math.Abs(r.Concentration-want) > 1e-9 {
		t.Fatalf("concentration add-on %v, want %v", r.Concentration, want)
	}
	if want := 200000 + 2000 + 100000.0; math.Abs(r.IM-want) > 1e-6 {
		t.Fatalf("IM %v, want %v", r.IM, want)
	}
}

func TestStatesAndHealthFactor(t *testing.T) {
	for _, tc := range []struct {
		eq, im, mm float64
		want       State
	}{
		{100, 100, 75, Healthy}, {150, 100, 75, Healthy}, {99.99, 100, 75, MarginCall},
		{75, 100, 75, MarginCall}, {74.99, 100, 75, Liquidate}, {-5, 100, 75, Liquidate}, {0, 0, 0, Healthy},
	} {
		if got := StateOf(tc.eq, tc.im, tc.mm); got != tc.want {
			t.Errorf("StateOf(%v, %v, %v) = %v, want %v", tc.eq, tc.im, tc.mm, got, tc.want)
		}
	}
	if hf := HealthFactor(150, 75); hf != 2 {
		t.Fatalf("HF = %v, want 2", hf)
	}
	if hf := HealthFactor(10, 0); hf != HealthFactorMax {
		t.Fatalf("HF with no requirement = %v", hf)
	}
	if hf := HealthFactor(-10, 0); hf != -HealthFactorMax {
		t.Fatalf("HF negative equity, no requirement = %v", hf)
	}
	if hf := HealthFactor(1e300, 1e-300); hf != HealthFactorMax {
		t.Fatalf("HF not capped: %v", hf)
	}
	for s, n := range map[State]string{Healthy: "HEALTHY", MarginCall: "MARGIN_CALL", Liquidate: "LIQUIDATE"} {
		if s.String() != n {
			t.Errorf("%d.String() = %q", s, s.String())
		}
	}
}

func TestDecideEveryReason(t *testing.T) {
	base := Check{PreIM: 100, PostIM: 150, PostEquity: 200}
	cases := []struct {
		name   string
		mod    func(*Check)
		accept bool
		reason Reason
	}{
		{"covered", func(*Check) {}, true, ReasonNone},
		{"insufficient", func(c *Check) { c.PostEquity = 149 }, false, ReasonInsufficientMargin},
		{"exactly covered", func(c *Check) { c.PostEquity = 150 }, true, ReasonNone},
		{"risk reducing despite deficit", func(c *Check) { c.PostIM, c.PostEquity = 90, -1000 }, true, ReasonNone},
		{"risk neutral despite stale", func(c *Check) { c.PostIM, c.Stale = 100, true }, true, ReasonNone},
		{"stale increases", func(c *Check) { c.Stale = true }, false, ReasonStaleMarketData},
		{"attestation expired", func(c *Check) { c.AttestationExpired = true }, false, ReasonAttestationExpired},
		{"credit limit", func(c *Check) { c.CreditLimit = 120 }, false, ReasonCreditLimit},
		{"credit limit not binding", func(c *Check) { c.CreditLimit = 1000 }, true, ReasonNone},
		{"stale beats credit", func(c *Check) { c.Stale, c.CreditLimit = true, 1 }, false, ReasonStaleMarketData},
		{"NaN post IM fails closed", func(c *Check) { c.PostIM = math.NaN() }, false, ReasonInsufficientMargin},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			ok, r := Decide(c)
			if ok != tc.accept || r != tc.reason {
				t.Fatalf("Decide = %v %v, want %v %v", ok, r, tc.accept, tc.reason)
			}
		})
	}
}

func TestReasonNames(t *testing.T) {
	for r := ReasonNone; r <= ReasonAttestationExpired; r++ {
		if s := r.String(); strings.HasPrefix(s, "reason(") {
			t.Errorf("reason %d has no name", r)
		}
	}
	if Reason(200).String() != "reason(200)" {
		t.Fatal("unknown reason name")
	}
}

func TestValidate(t *testing.T) {
	good := DefaultConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field string
		mod   func(*Config)
	}{
		{"es_alpha", func(c *Config) { c.ESAlpha = 1 }},
		{"var_alpha", func(c *Config) { c.VaRAlpha = math.NaN() }},
		{"models", func(c *Config) { c.Models = Models{} }},
		{"floor", func(c *Config) { c.Floor = -1 }},
		{"mm_fraction", func(c *Config) { c.MMFraction = 1.5 }},
		{"tier_weights.cash", func(c *Config) { c.TierWeights[0] = 0.9 }},
		{"tier_weights.verified", func(c *Config) { c.TierWeights[1] = 0.95 }},
		{"tier_weights.credit_line", func(c *Config) { c.TierWeights[2] = 0.1 }},
		{"concentration_rate", func(c *Config) { c.ConcentrationRate = 2 }},
		{"concentration_threshold", func(c *Config) { c.ConcentrationThreshold = -1 }},
		{"mark_age_max", func(c *Config) { c.MarkAgeMax = 0 }},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v", tc.field, err)
		}
	}
}

func TestWeightedCollateral(t *testing.T) {
	c := DefaultConfig()
	if got := c.WeightedCollateral([3]float64{1000, 1000, 1000}); math.Abs(got-2100) > 1e-9 {
		t.Fatalf("weighted collateral %v, want 2100", got)
	}
}

// A measure that could not be computed never lowers the requirement: IM is
// unknown and the verdict fails closed.
func TestUnknownMeasureFailsClosed(t *testing.T) {
	c := DefaultConfig()
	for _, m := range []Measures{
		{ES: math.NaN(), VaR: 5, Stress: 10, HasPositions: true},
		{ES: 5, VaR: math.NaN(), Stress: 10, HasPositions: true},
		{ES: 5, VaR: 5, Stress: math.NaN(), HasPositions: true},
	} {
		r := c.Require(&m)
		if !math.IsNaN(r.IM) || !math.IsNaN(r.MM) || r.Driver != "unknown" {
			t.Fatalf("%+v → %+v", m, r)
		}
		if ok, _ := Decide(Check{PreIM: r.IM, PostIM: r.IM, PostEquity: 1e12}); ok {
			t.Fatal("an unknown requirement was accepted")
		}
	}
	// A model that is not selected may be unknown.
	c.Models = Models{Scenarios: true}
	if r := c.Require(&Measures{ES: 5, VaR: 5, Stress: math.NaN(), HasPositions: true}); math.IsNaN(r.IM) {
		t.Fatal("an unselected NaN measure poisoned IM")
	}
}
