package engine

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"supergraph/platform/apperr"

	"github.com/wundergraph/astjson"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
)

// checkScalars enforces what the library's variables validation leaves out
// (it accepts any JSON number for Int and Float): an Int is a whole number
// within 32 bits, a Float is finite. Literals were extracted into variables
// by normalization, so checking the variables checks them too. client holds
// the variables the client sent: only those are named in the message.
func checkScalars(doc, schema *ast.Document, vars []byte, client *astjson.Value) *RequestError {
	if len(doc.VariableDefinitions) == 0 {
		return nil
	}
	v, err := astjson.ParseBytes(vars)
	if err != nil {
		return nil // the variables validator has said so already
	}
	for ref := range doc.VariableDefinitions {
		name := doc.VariableDefinitionNameString(ref)
		problem := scalarProblem(doc, schema, doc.VariableDefinitions[ref].Type, v.Get(name))
		if problem == "" {
			continue
		}
		if client.Get(name) != nil {
			return NewRequestError(http.StatusBadRequest, apperr.CodeBadUserInput, "Variable \"$%s\" got invalid value: %s", name, problem)
		}
		return NewRequestError(http.StatusBadRequest, apperr.CodeValidationFailed, "invalid argument value: %s", problem)
	}
	return nil
}

// scalarProblem checks v against the type typeRef of d (the operation, or the
// schema for input object fields) and describes the first violation.
func scalarProblem(d, schema *ast.Document, typeRef int, v *astjson.Value) string {
	if v == nil || v.Type() == astjson.TypeNull {
		return ""
	}
	switch t := d.Types[typeRef]; t.TypeKind {
	case ast.TypeKindNonNull:
		return scalarProblem(d, schema, t.OfType, v)
	case ast.TypeKindList:
		if v.Type() != astjson.TypeArray {
			return scalarProblem(d, schema, t.OfType, v) // a single value coerces to a list
		}
		for _, item := range v.GetArray() {
			if p := scalarProblem(d, schema, t.OfType, item); p != "" {
				return p
			}
		}
		return ""
	}
	name := d.TypeNameString(typeRef)
	text := string(v.MarshalTo(nil))
	switch name {
	case "Int":
		if v.Type() != astjson.TypeNumber {
			return ""
		}
		if _, err := strconv.ParseInt(text, 10, 32); err == nil {
			return ""
		}
		if f, err := strconv.ParseFloat(text, 64); err == nil && f == math.Trunc(f) && f >= math.MinInt32 && f <= math.MaxInt32 {
			return "" // 2.0, 1e3
		}
		return fmt.Sprintf("Int cannot represent %s: a whole number from %d to %d is expected", text, math.MinInt32, math.MaxInt32)
	case "Float":
		if v.Type() != astjson.TypeNumber {
			return ""
		}
		if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsInf(f, 0) {
			return fmt.Sprintf("Float cannot represent %s", text)
		}
		return ""
	}
	node, ok := schema.Index.FirstNodeByNameStr(name)
	if !ok || node.Kind != ast.NodeKindInputObjectTypeDefinition || v.Type() != astjson.TypeObject {
		return ""
	}
	for _, field := range schema.InputObjectTypeDefinitions[node.Ref].InputFieldsDefinition.Refs {
		fv := v.Get(schema.InputValueDefinitionNameString(field))
		if p := scalarProblem(schema, schema, schema.InputValueDefinitions[field].Type, fv); p != "" {
			return p
		}
	}
	return ""
}
