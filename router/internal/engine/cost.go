package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"supergraph/platform/apperr"

	"github.com/wundergraph/astjson"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/engine/plan"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/operationreport"
)

// Static cost follows the IBM GraphQL cost spec as Apollo and Cosmo apply it:
// objects weigh 1, scalars and enums 0 unless @cost says otherwise; a list
// multiplies its element's cost by its size, taken from the @listSize slicing
// argument (first) in the operation, else assumedSize, else a default; and a
// mutation adds a base cost. The engine's planner builds the cost tree while it
// plans (graphql-go-tools plan.Configuration.ComputeCosts), so the tree is
// cached with the plan and an estimate per request is one walk of it with the
// request's variables.

// costJSON is the part of a composed data source configuration that carries the
// subgraph's @cost/@listSize (wgc writes it as costConfiguration). The protobuf
// types this router compiles against predate the field, so it is read here.
type costJSON struct {
	FieldWeights []struct {
		TypeName        string           `json:"typeName"`
		FieldName       string           `json:"fieldName"`
		Weight          *int             `json:"weight"`
		ArgumentWeights map[string]int32 `json:"argumentWeights"`
	} `json:"fieldWeights"`
	ListSizes []struct {
		TypeName                  string   `json:"typeName"`
		FieldName                 string   `json:"fieldName"`
		AssumedSize               int      `json:"assumedSize"`
		SlicingArguments          []string `json:"slicingArguments"`
		SizedFields               []string `json:"sizedFields"`
		RequireOneSlicingArgument bool     `json:"requireOneSlicingArgument"`
	} `json:"listSizes"`
	TypeWeights map[string]int `json:"typeWeights"`
}

// readCosts returns each data source's cost configuration by data source id.
func readCosts(data []byte) (map[string]*plan.DataSourceCostConfig, error) {
	var raw struct {
		EngineConfig struct {
			DatasourceConfigurations []struct {
				ID                string    `json:"id"`
				CostConfiguration *costJSON `json:"costConfiguration"`
			} `json:"datasourceConfigurations"`
		} `json:"engineConfig"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("read cost configuration: %w", err)
	}
	out := map[string]*plan.DataSourceCostConfig{}
	for _, ds := range raw.EngineConfig.DatasourceConfigurations {
		c := ds.CostConfiguration
		if c == nil {
			continue
		}
		cfg := plan.NewDataSourceCostConfig()
		for _, fw := range c.FieldWeights {
			w := &plan.FieldWeight{ArgumentWeights: map[string]int{}}
			if fw.Weight != nil {
				w.Weight, w.HasWeight = *fw.Weight, true
			}
			for name, aw := range fw.ArgumentWeights {
				w.ArgumentWeights[name] = int(aw)
			}
			cfg.Weights[plan.FieldCoordinate{TypeName: fw.TypeName, FieldName: fw.FieldName}] = w
		}
		for _, ls := range c.ListSizes {
			cfg.ListSizes[plan.FieldCoordinate{TypeName: ls.TypeName, FieldName: ls.FieldName}] = &plan.FieldListSize{
				AssumedSize:               ls.AssumedSize,
				SlicingArguments:          ls.SlicingArguments,
				SizedFields:               ls.SizedFields,
				RequireOneSlicingArgument: ls.RequireOneSlicingArgument,
			}
		}
		for name, w := range c.TypeWeights {
			cfg.Types[name] = w
		}
		out[ds.ID] = cfg
	}
	return out, nil
}

// assumeArgumentDefaults makes a slicing argument's schema default the list
// size when an operation leaves the argument out: that default is what the
// subgraph will use. Composition forbids writing both assumedSize and a default
// (they could disagree), and the engine would otherwise fall back to the global
// default list size.
func assumeArgumentDefaults(cfg *plan.DataSourceCostConfig, schema *ast.Document) {
	for coord, ls := range cfg.ListSizes {
		if ls.AssumedSize > 0 || len(ls.SlicingArguments) == 0 {
			continue
		}
		node, ok := schema.NodeByNameStr(coord.TypeName)
		if !ok {
			continue
		}
		field, ok := schema.NodeFieldDefinitionByName(node, []byte(coord.FieldName))
		if !ok {
			continue
		}
		for _, arg := range schema.FieldDefinitionArgumentsDefinitions(field) {
			name := schema.InputValueDefinitionNameString(arg)
			if !schema.InputValueDefinitionHasDefaultValue(arg) {
				continue
			}
			v := schema.InputValueDefinitionDefaultValue(arg)
			for _, s := range ls.SlicingArguments {
				if s == name && v.Kind == ast.ValueKindInteger {
					ls.AssumedSize = max(ls.AssumedSize, int(schema.IntValueAsInt(v.Ref)))
				}
			}
		}
	}
}

// weighLeafTypes gives every scalar and enum its default weight of 0
// explicitly. graphql-go-tools (rc.270) does not see through list types when it
// tells scalars and enums from objects, so a [String!] or [Role!] field would
// otherwise cost 1 per element like a list of objects; with the explicit
// weights the object path finds 0. A weight composed from @cost is kept.
func weighLeafTypes(cfg *plan.DataSourceCostConfig, schema *ast.Document) {
	for i := range schema.ScalarTypeDefinitions {
		if name := schema.ScalarTypeDefinitionNameString(i); !hasKey(cfg.Types, name) {
			cfg.Types[name] = plan.DefaultEnumScalarWeight
		}
	}
	for i := range schema.EnumTypeDefinitions {
		if name := schema.EnumTypeDefinitionNameString(i); !hasKey(cfg.Types, name) {
			cfg.Types[name] = plan.DefaultEnumScalarWeight
		}
	}
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// Estimate plans op (or takes its cached plan) and returns its static cost for
// op's variables. It also enforces @listSize(requireOneSlicingArgument:).
func (e *Engine) Estimate(op *Operation) (int, error) {
	p, err := e.plan(op)
	if err != nil {
		return 0, err
	}
	calc := p.GetCostCalculator()
	if calc == nil {
		return 0, nil
	}
	vars, err := parseVariables(op.Variables)
	if err != nil {
		return 0, err
	}
	vars = e.boundListSizes(op.Variables, vars)
	var report operationreport.Report
	calc.ValidateSliceArguments(vars, &report)
	if report.HasErrors() {
		return 0, errorFromReportCode(report, http.StatusBadRequest, apperr.CodeValidationFailed)
	}
	cost := calc.EstimateCost(vars)
	if op.Type == Mutation {
		cost += e.mutationBaseCost
	}
	op.Cost = cost
	return cost, nil
}

// boundListSizes returns the variables with every top-level number above
// maxListSize lowered to it, for the estimate only (see Options.MaxListSize).
// Slicing arguments are top-level variables by then: normalization extracts
// literal arguments into variables. Variables without such numbers, nearly
// all, are returned as parsed.
func (e *Engine) boundListSizes(raw []byte, vars *astjson.Value) *astjson.Value {
	obj := vars.GetObject()
	if obj == nil {
		return vars
	}
	var over []string
	obj.Visit(func(key []byte, v *astjson.Value) {
		if v.Type() == astjson.TypeNumber {
			if f, err := v.Float64(); err == nil && f > float64(e.maxListSize) {
				over = append(over, string(key))
			}
		}
	})
	if len(over) == 0 {
		return vars
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return vars
	}
	for _, k := range over {
		m[k] = json.RawMessage(strconv.Itoa(e.maxListSize))
	}
	b, err := json.Marshal(m)
	if err != nil {
		return vars
	}
	bounded, err := astjson.ParseBytes(b)
	if err != nil {
		return vars
	}
	return bounded
}
