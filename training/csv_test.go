package training

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestLoadCSVDetectsColumns(t *testing.T) {
	t.Parallel()
	in := "\ufeffid;age;job;income;secret;y\n" +
		"1;30;\"admin.\";1000;x;yes\n" +
		"2;NA;unknown;;x;no\n" +
		"3;41.5;;2500.5;x;YES\n" +
		"4;-2;blue-collar;unknown;x;0\n"
	ds, err := LoadCSV(strings.NewReader(in), CSVOptions{Sep: ';', Target: "y", Drop: []string{"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "age", "income"}; !slices.Equal(ds.Schema.Num, want) {
		t.Errorf("numeric columns %q, want %q", ds.Schema.Num, want)
	}
	if want := []string{"job"}; !slices.Equal(ds.Schema.Cat, want) {
		t.Errorf("categorical columns %q, want %q", ds.Schema.Cat, want)
	}
	if want := []bool{true, false, true, false}; !slices.Equal(ds.Label, want) {
		t.Errorf("labels %v, want %v", ds.Label, want)
	}
	if age := ds.Num[1]; age[0] != 30 || !math.IsNaN(age[1]) || age[3] != -2 {
		t.Errorf("age = %v", age)
	}
	if inc := ds.Num[2]; !math.IsNaN(inc[1]) || !math.IsNaN(inc[3]) || inc[2] != 2500.5 {
		t.Errorf("income = %v", inc)
	}
	if want := []string{"admin.", "unknown", MissingCategory, "blue-collar"}; !slices.Equal(ds.Cat[0], want) {
		t.Errorf("job = %q, want %q", ds.Cat[0], want)
	}
	if err := ds.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLoadCSVPositiveRule(t *testing.T) {
	t.Parallel()
	in := "a,stage\n1,won\n2,lost\n3,WON\n4,open\n"
	ds, err := LoadCSV(strings.NewReader(in), CSVOptions{Target: "stage", Positive: []string{"won"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true, false}; !slices.Equal(ds.Label, want) {
		t.Errorf("labels %v, want %v", ds.Label, want)
	}
}

func TestLoadCSVErrorsNameRowAndColumn(t *testing.T) {
	t.Parallel()
	numeric := "age,y\n" + strings.Repeat("30,yes\n", 10) + "thirty,no\n" + strings.Repeat("40,no\n", 15)
	tests := []struct {
		name string
		in   string
		opts CSVOptions
		want string
	}{
		{"no target", "a,b\n1,2\n", CSVOptions{Target: "y"}, `no target column "y"`},
		{"missing target option", "a,y\n1,2\n", CSVOptions{}, "no target column given"},
		{"bad drop", "a,y\n1,yes\n", CSVOptions{Target: "y", Drop: []string{"zz"}}, `cannot drop column "zz"`},
		{"duplicate header", "a,a,y\n1,2,yes\n", CSVOptions{Target: "y"}, `column "a" appears twice`},
		{"ragged row", "a,y\n1,yes\n2\n", CSVOptions{Target: "y"}, "row 3: 1 fields, the header has 2"},
		{"odd label", "a,y\n1,yes\n2,maybe\n", CSVOptions{Target: "y"}, `row 3, column "y": target value "maybe"`},
		{"empty label", "a,y\n1,yes\n2,\n", CSVOptions{Target: "y"}, `row 3, column "y": missing target value`},
		{"stray word in numbers", numeric, CSVOptions{Target: "y"}, `row 12, column "age": "thirty" is not a number`},
		{"no rows", "a,y\n", CSVOptions{Target: "y"}, "no data rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadCSV(strings.NewReader(tt.in), tt.opts)
			if !errors.Is(err, ErrCSV) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrCSV containing %q", err, tt.want)
			}
		})
	}
}

func FuzzLoadCSV(f *testing.F) {
	f.Add("a,b,y\n1,x,yes\n2,,no\n")
	f.Add("a;y\n\"q;\"\"\";1\n")
	f.Fuzz(func(t *testing.T, in string) {
		ds, err := LoadCSV(strings.NewReader(in), CSVOptions{Target: "y"})
		if err != nil {
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("loaded an inconsistent dataset: %v", err)
		}
	})
}
