package scenario_test

import (
	"fmt"
	"strings"

	"github.com/ballast-risk/ballast/engine/scenario"
)

func ExampleMonteCarlo() {
	corr, _, err := scenario.NewCorrelation(2, []float64{1, 0.5, 0.5, 1}, scenario.Reject)
	if err != nil {
		panic(err)
	}
	g, err := scenario.NewMonteCarlo(scenario.Config{
		Seed:         2024,
		Scenarios:    10_000,
		HorizonYears: 10.0 / 252,
		Vols:         []float64{0.2, 0.35},
		Correlation:  corr,
	})
	if err != nil {
		panic(err)
	}
	mc, _ := g.NewSet()
	g.Fill(mc, 2)

	hist, err := scenario.ParseHistorical(strings.NewReader(
		"date,BBB,AAA\n2024-01-02,0.012,-0.004\n2024-01-03,-0.031,0.009\n"),
		[]string{"AAA", "BBB"})
	if err != nil {
		panic(err)
	}
	all, err := scenario.Combine(mc, hist)
	if err != nil {
		panic(err)
	}
	fmt.Println(all.Scenarios, all.Underlyings, all.Kinds[0], all.Kinds[10_001], all.Row(10_001))
	// Output: 10002 2 monte_carlo historical [0.009 -0.031]
}

func ExampleStressGrid() {
	g, err := scenario.NewStressGrid(scenario.DefaultStressConfig(), []float64{0.3}, 1.0/252)
	if err != nil {
		panic(err)
	}
	for _, p := range []int{0, 11, 15} {
		x, volMul, weight := g.Point(0, p)
		fmt.Printf("p%d: x=%+.4f volMul=%.2f weight=%.2f\n", p, x, volMul, weight)
	}
	// Output:
	// p0: x=+0.0000 volMul=1.25 weight=1.00
	// p11: x=+0.0567 volMul=0.75 weight=1.00
	// p15: x=-0.1701 volMul=1.00 weight=0.35
}
