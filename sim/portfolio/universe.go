package portfolio

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
)

// File names written by WriteFiles.
const (
	MasterFile   = "master.json"
	AccountsFile = "accounts.json.gz"
	MetaFile     = "workload.json"
)

// The risk settings a workload is meant to be measured with (recorded in
// workload.json; the engine's configuration, not the generator's).
const (
	IntendedScenarios = 10_000
	IntendedESLevel   = 0.975
	IntendedVaRLevel  = 0.99
)

// ErrGenerated reports a generated document that its own loader refuses:
// a bug in the generator, never a property of the Config.
var ErrGenerated = errors.New("portfolio: generated file does not load")

// Universe is a generated instrument master and accounts set, both as the
// bytes of their files and as parsed by the engine's loaders.
type Universe struct {
	// Config is the configuration it was generated from.
	Config Config
	// MasterJSON is the content of master.json.
	MasterJSON []byte
	// AccountsJSON is the accounts document (written gzip-compressed).
	AccountsJSON []byte
	// Master is MasterJSON as engine/instrument parses it at Config.AsOf.
	Master *instrument.Master
	// Accounts is AccountsJSON as engine/account parses it against Master.
	Accounts *account.Set
	// Meta is the content of workload.json.
	Meta Metadata
	// Styles holds each account's portfolio style, by position in
	// Accounts.Accounts.
	Styles []Style
	// Health holds each account's collateral band, by position in
	// Accounts.Accounts.
	Health []Health
	// Risk holds each account's crude risk estimate (currency units), by
	// position in Accounts.Accounts.
	Risk []float64
}

// Metadata is the JSON of workload.json.
type Metadata struct {
	// Generator names the program that wrote the files.
	Generator string `json:"generator"`
	// GeneratorVersion is GeneratorVersion at the time.
	GeneratorVersion int `json:"generator_version"`
	// Name is Config.Name.
	Name string `json:"name"`
	// Seed is Config.Seed.
	Seed uint64 `json:"seed"`
	// AsOf is Config.AsOf in RFC 3339.
	AsOf string `json:"as_of"`
	// Counts are the sizes of the universe.
	Counts Counts `json:"counts"`
	// Styles counts accounts by portfolio style.
	Styles map[string]int `json:"styles"`
	// Health counts accounts by collateral band.
	Health map[string]int `json:"health"`
	// Risk is the risk configuration the workload is meant for.
	Risk RiskSettings `json:"risk"`
	// Files names the data files.
	Files FileNames `json:"files"`
}

// Counts are the sizes of a universe.
type Counts struct {
	Underlyings    int `json:"underlyings"`
	Instruments    int `json:"instruments"`
	Spot           int `json:"spot"`
	Futures        int `json:"futures"`
	Options        int `json:"options"`
	Black76Options int `json:"black76_options"`
	Firms          int `json:"firms"`
	Accounts       int `json:"accounts"`
	Positions      int `json:"positions"`
}

// RiskSettings is the risk configuration a workload is meant for.
type RiskSettings struct {
	Scenarios        int     `json:"scenarios"`
	ESLevel          float64 `json:"es_level"`
	VaRLevel         float64 `json:"var_level"`
	HorizonDays      float64 `json:"horizon_days"`
	CreditLineWeight float64 `json:"credit_line_weight"`
}

// FileNames names a workload's data files.
type FileNames struct {
	Master   string `json:"master"`
	Accounts string `json:"accounts"`
}

// Generate builds the universe of cfg. It fails only on a bad Config
// (ErrConfig); the documents it writes are checked with the engine's own
// loaders.
func Generate(cfg Config) (*Universe, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.AsOf = cfg.AsOf.UTC()
	mk := newMarket(&cfg)
	u := &Universe{Config: cfg}
	var err error
	if u.MasterJSON, err = mk.marshal(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerated, err)
	}
	if u.Master, err = instrument.Parse(u.MasterJSON, cfg.AsOf); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerated, err)
	}
	gen := newAccounts(&cfg, mk)
	accts := make([]*account.Account, len(gen))
	for i := range gen {
		accts[i] = gen[i].toAccount(mk)
	}
	set, err := account.NewSet(accts)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerated, err)
	}
	if u.AccountsJSON, err = account.Marshal(set); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerated, err)
	}
	u.AccountsJSON = append(u.AccountsJSON, '\n')
	if u.Accounts, err = account.Parse(u.AccountsJSON, u.Master); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerated, err)
	}
	// Ids are consecutive in generation order, so Accounts.Accounts (sorted
	// by id) is in the order of gen.
	u.Styles = make([]Style, len(gen))
	u.Health = make([]Health, len(gen))
	u.Risk = make([]float64, len(gen))
	u.Meta = Metadata{Generator: "ballast-sim portfolio", GeneratorVersion: GeneratorVersion, Name: cfg.Name,
		Seed: cfg.Seed, AsOf: cfg.AsOf.Format(time.RFC3339Nano),
		Styles: make(map[string]int), Health: make(map[string]int),
		Risk: RiskSettings{Scenarios: IntendedScenarios, ESLevel: IntendedESLevel, VaRLevel: IntendedVaRLevel,
			HorizonDays: cfg.HorizonDays, CreditLineWeight: cfg.CreditLineWeight},
		Files: FileNames{Master: MasterFile, Accounts: AccountsFile}}
	for s := range StylesCount {
		u.Meta.Styles[s.String()] = 0
	}
	for h := range HealthCount {
		u.Meta.Health[h.String()] = 0
	}
	for i := range gen {
		u.Styles[i], u.Health[i], u.Risk[i] = gen[i].style, gen[i].health, gen[i].risk
		u.Meta.Styles[gen[i].style.String()]++
		u.Meta.Health[gen[i].health.String()]++
		u.Meta.Counts.Positions += len(gen[i].legs)
	}
	c := &u.Meta.Counts
	c.Underlyings, c.Instruments, c.Firms, c.Accounts = len(mk.underlyings), len(mk.instruments), cfg.Firms, len(gen)
	for _, k := range mk.instruments {
		switch {
		case k.kind == instrument.Spot:
			c.Spot++
		case k.kind == instrument.Future:
			c.Futures++
		case k.model == instrument.Black76:
			c.Options++
			c.Black76Options++
		default:
			c.Options++
		}
	}
	return u, nil
}

// gzipLevel is the compression of accounts.json.gz.
const gzipLevel = gzip.DefaultCompression

// Files returns the contents of the three files WriteFiles writes, by
// name. The gzip stream has no name and no modification time, so equal
// universes give equal bytes.
func (u *Universe) Files() (map[string][]byte, error) {
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzipLevel)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(u.AccountsJSON); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	meta, err := json.MarshalIndent(u.Meta, "", "  ")
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		MasterFile:   u.MasterJSON,
		AccountsFile: gz.Bytes(),
		MetaFile:     append(meta, '\n'),
	}, nil
}

// WriteFiles writes master.json, accounts.json.gz and workload.json into
// dir (created if missing). Each file is written to a temporary name and
// renamed, so a reader never sees a partial file.
func (u *Universe) WriteFiles(dir string) error {
	files, err := u.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range [...]string{MasterFile, AccountsFile, MetaFile} {
		if err := writeAtomic(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes data to path through a temporary file in the same
// directory.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
