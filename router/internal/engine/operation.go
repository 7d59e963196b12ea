package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/wundergraph/astjson"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astnormalization"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astparser"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astprinter"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/astvalidation"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/operationreport"
	"github.com/wundergraph/graphql-go-tools/v2/pkg/variablesvalidation"

	"supergraph/platform/apperr"
	"supergraph/router/internal/limits"
)

// Request is a GraphQL request as a client sent it (over HTTP or a WebSocket).
type Request struct {
	Query         string
	OperationName string
	// Variables is a JSON object or empty.
	Variables []byte
}

// OperationType is query, mutation or subscription.
type OperationType string

// Operation types.
const (
	Query        OperationType = "query"
	Mutation     OperationType = "mutation"
	Subscription OperationType = "subscription"
)

// Operation is a request that parsed, normalized and validated against the client
// schema: ready to plan and execute.
type Operation struct {
	// Name is the executed operation's name ("" when anonymous).
	Name string
	Type OperationType
	// Variables are the coerced variables, including literals extracted from the document.
	Variables []byte
	// Cost is the static cost estimate, set by Estimate.
	Cost int
	// Uploads are the files the client sent with the operation and where
	// they go (GraphQL multipart request); see UploadTargets.
	Uploads []Upload
	// normalized is the printed normalized operation; id its hash (plan cache key).
	normalized string
	id         uint64
	// uploadSlots are where files may go: null Upload values passed to fields.
	uploadSlots []uploadSlot
}

// Hash identifies the normalized operation (the plan cache key): the same
// operation with other literals or variables has the same hash.
func (o *Operation) Hash() string { return strconv.FormatUint(o.id, 16) }

// Error is a GraphQL error as it goes into a response's "errors".
type Error struct {
	Message    string                     `json:"message"`
	Locations  []operationreport.Location `json:"locations,omitempty"`
	Extensions map[string]any             `json:"extensions,omitempty"`
}

// RequestError rejects a request before execution; Status is the HTTP status to
// answer with (the GraphQL-over-HTTP spec's 4xx for request errors).
type RequestError struct {
	Status int
	Errors []Error
}

func (e *RequestError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid request"
	}
	return e.Errors[0].Message
}

// NewRequestError returns a RequestError with one message and extensions.code.
func NewRequestError(status int, code, format string, args ...any) *RequestError {
	return &RequestError{Status: status, Errors: []Error{{
		Message:    fmt.Sprintf(format, args...),
		Extensions: map[string]any{"code": code},
	}}}
}

func errorFromReport(report operationreport.Report, status int) *RequestError {
	return errorFromReportCode(report, status, apperr.CodeValidationFailed)
}

func errorFromReportCode(report operationreport.Report, status int, code string) *RequestError {
	out := &RequestError{Status: status}
	for _, ee := range report.ExternalErrors {
		c := ee.ExtensionCode
		if c == "" {
			c = code
		}
		out.Errors = append(out.Errors, Error{Message: ee.Message, Locations: ee.Locations, Extensions: map[string]any{"code": c}})
	}
	if len(out.Errors) == 0 {
		// Internal errors carry library details that are no business of the client.
		out.Status = http.StatusInternalServerError
		out.Errors = []Error{{Message: "internal error while preparing the operation", Extensions: map[string]any{"code": apperr.CodeInternal}}}
	}
	return out
}

// kit holds the reusable, non-thread-safe parts of preparing an operation.
type kit struct {
	doc          *ast.Document
	parser       *astparser.Parser
	normalizer   *astnormalization.OperationNormalizer
	varNorm      *astnormalization.VariablesNormalizer
	validator    *astvalidation.OperationValidator
	varValidator *variablesvalidation.VariablesValidator
	printed      bytes.Buffer
	// uploadsSeen: varNorm appends the upload places of every document it
	// normalizes to one slice, never reset, and returns all of it; this
	// document's start here.
	uploadsSeen int
}

// maxUploadsSeen bounds what a kit's variables normalizer accumulates
// before it is replaced by a fresh one.
const maxUploadsSeen = 1024

// normalizeVariables runs the variables normalizer and returns the upload
// places it found in this document.
func (k *kit) normalizeVariables(doc, schema *ast.Document, report *operationreport.Report) []uploadSlot {
	found := k.varNorm.NormalizeOperation(doc, schema, report)
	if report.HasErrors() {
		// An early stop returns nil, a late one the whole slice.
		k.uploadsSeen = max(k.uploadsSeen, len(found))
		return nil
	}
	var slots []uploadSlot
	for _, m := range found[k.uploadsSeen:] {
		s := uploadSlot{Client: m.OriginalUploadPath, Normalized: m.NewUploadPath}
		if s.Normalized == "" {
			s.Normalized = s.Client
		}
		if !slices.Contains(slots, s) {
			slots = append(slots, s)
		}
	}
	k.uploadsSeen = len(found)
	if k.uploadsSeen > maxUploadsSeen {
		k.varNorm, k.uploadsSeen = astnormalization.NewVariablesNormalizer(), 0
	}
	return slots
}

var kits = sync.Pool{New: func() any {
	return &kit{
		doc:    ast.NewSmallDocument(),
		parser: astparser.NewParser(),
		normalizer: astnormalization.NewWithOpts(
			astnormalization.WithRemoveNotMatchingOperationDefinitions(),
			astnormalization.WithInlineFragmentSpreads(),
			astnormalization.WithRemoveFragmentDefinitions(),
			astnormalization.WithRemoveUnusedVariables(),
		),
		varNorm:      astnormalization.NewVariablesNormalizer(),
		validator:    astvalidation.DefaultOperationValidator(),
		varValidator: variablesvalidation.NewVariablesValidator(variablesvalidation.VariablesValidatorOptions{}),
	}
}}

// Prepare parses, normalizes and validates a request against the client schema.
// Every failure is a *RequestError with a 4xx status.
//
// The work on the document is done once per document: the outcome is kept
// keyed by the query text, the operation name and the shape of the variables
// (their names, JSON types and boolean values: what normalization depends on,
// @skip/@include included). A remembered operation only has its variables
// completed (the literals normalization extracted, defaults) and validated
// against the normalized document, which per-request values still need.
// A document with a variable inside an object or list literal is prepared in
// full every time (see literalHoldsVariable): its normalization depends on
// that variable's value.
func (e *Engine) Prepare(req Request) (*Operation, error) {
	if err := e.CheckQuerySize(req.Query); err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(req.Query)) == 0 {
		return nil, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the request has no query")
	}
	// The transports run CheckJSON on what they read (the body, the
	// WebSocket payload, GET's parameters); the query text is checked here.
	if rerr := checkQueryText(req.Query); rerr != nil {
		return nil, rerr
	}
	vars := bytes.TrimSpace(req.Variables)
	if len(vars) == 0 || bytes.Equal(vars, []byte("null")) {
		vars = []byte("{}")
	}
	parsed, err := astjson.ParseBytes(vars)
	if err != nil || parsed.Type() != astjson.TypeObject {
		return nil, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "variables must be a JSON object")
	}
	shape := variablesShape(parsed)
	key := prepareKey(req.Query, req.OperationName, shape)
	if c, ok := e.prepared.Get(key); ok && c.query == req.Query && c.opName == req.OperationName && c.shape == shape {
		return e.fromPrepared(c, vars, parsed)
	}
	op, c, err := e.prepare(req, vars, parsed)
	if err != nil {
		return nil, err
	}
	if c != nil {
		c.query, c.opName, c.shape = req.Query, req.OperationName, shape
		e.prepared.Add(key, c)
	}
	return op, nil
}

// CheckQuerySize refuses a query text over the query size limit, counted in
// bytes as sent (comments and white space included): the first check of
// every transport's operations, also made before a persisted query is hashed.
func (e *Engine) CheckQuerySize(query string) *RequestError {
	if v := e.limits.CheckQueryBytes(query); v != nil {
		return limitError(v)
	}
	return nil
}

// preparedOp is a remembered outcome of preparing a document with variables of
// one shape.
type preparedOp struct {
	query, opName, shape string
	name                 string
	typ                  OperationType
	normalized           string
	id                   uint64
	// removed are the client's variables normalization dropped (unused);
	// added the variables it added (extracted literals, defaults) as a JSON
	// object's members: `"a":1,"b":"x"`.
	removed []string
	added   []byte
	// uploadSlots depend on the document and the variables' shape only
	// (which values are null, the lists' lengths).
	uploadSlots []uploadSlot
}

// preparedOverhead is what a kept preparedOp weighs besides its strings: the
// struct, its cache entry and map slot, the slices' headers.
const preparedOverhead = 256

// bytes is what c weighs in the prepared-document cache.
func (c *preparedOp) bytes() int {
	n := preparedOverhead + len(c.query) + len(c.opName) + len(c.shape) + len(c.name) + len(c.normalized) + len(c.added)
	for _, r := range c.removed {
		n += len(r) + 16
	}
	for _, s := range c.uploadSlots {
		n += len(s.Client) + len(s.Normalized) + 32
	}
	return n
}

func prepareKey(query, opName, shape string) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(query)
	_, _ = d.Write([]byte{0})
	_, _ = d.WriteString(opName)
	_, _ = d.Write([]byte{0})
	_, _ = d.WriteString(shape)
	return d.Sum64()
}

// variablesShape describes variables without their values, except booleans
// (@skip and @include are decided on them during normalization).
func variablesShape(v *astjson.Value) string {
	b := make([]byte, 0, 64)
	return string(appendShape(b, v))
}

func appendShape(b []byte, v *astjson.Value) []byte {
	switch v.Type() {
	case astjson.TypeObject:
		b = append(b, '{')
		o, _ := v.Object()
		o.Visit(func(key []byte, v *astjson.Value) {
			b = strconv.AppendInt(b, int64(len(key)), 10)
			b = append(b, ':')
			b = append(b, key...)
			b = appendShape(b, v)
		})
		return append(b, '}')
	case astjson.TypeArray:
		b = append(b, '[')
		for _, item := range v.GetArray() {
			b = appendShape(b, item)
		}
		return append(b, ']')
	case astjson.TypeString:
		return append(b, 's')
	case astjson.TypeNumber:
		return append(b, 'n')
	case astjson.TypeTrue:
		return append(b, 't')
	case astjson.TypeFalse:
		return append(b, 'f')
	}
	return append(b, '0')
}

// fromPrepared completes a remembered operation with this request's variables.
func (e *Engine) fromPrepared(c *preparedOp, vars []byte, parsed *astjson.Value) (*Operation, error) {
	final := c.variables(vars, parsed)
	k := kits.Get().(*kit)
	defer func() {
		k.doc.Reset()
		kits.Put(k)
	}()
	var report operationreport.Report
	k.doc.Input.ResetInputString(c.normalized)
	k.parser.Parse(k.doc, &report)
	if report.HasErrors() {
		return nil, fmt.Errorf("reparse normalized operation: %w", report)
	}
	if err := k.varValidator.Validate(k.doc, e.clientSchema, final); err != nil {
		return nil, variablesError(err)
	}
	if rerr := checkScalars(k.doc, e.clientSchema, final, parsed); rerr != nil {
		return nil, rerr
	}
	return &Operation{Name: c.name, Type: c.typ, Variables: final, normalized: c.normalized, id: c.id, uploadSlots: c.uploadSlots}, nil
}

// variables are the client's variables as normalization left them.
func (c *preparedOp) variables(vars []byte, parsed *astjson.Value) []byte {
	if len(c.removed) == 0 && len(c.added) == 0 {
		return append([]byte(nil), vars...)
	}
	out := make([]byte, 0, len(vars)+len(c.added)+2)
	out = append(out, '{')
	o, _ := parsed.Object()
	o.Visit(func(key []byte, v *astjson.Value) {
		if slices.Contains(c.removed, string(key)) {
			return
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendJSONString(out, key)
		out = append(out, ':')
		out = v.MarshalTo(out)
	})
	if len(c.added) > 0 {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, c.added...)
	}
	return append(out, '}')
}

func appendJSONString(b, s []byte) []byte {
	q, _ := json.Marshal(string(s))
	return append(b, q...)
}

// remember says how normalization changed the client's variables, or nil when
// it changed any of their values (coercion): such operations are prepared in
// full every time.
func remember(client *astjson.Value, normalized []byte) *preparedOp {
	final, err := astjson.ParseBytes(normalized)
	if err != nil || final.Type() != astjson.TypeObject {
		return nil
	}
	c := &preparedOp{}
	co, _ := client.Object()
	fo, _ := final.Object()
	ok := true
	co.Visit(func(key []byte, v *astjson.Value) {
		fv := fo.Get(string(key))
		if fv == nil {
			c.removed = append(c.removed, string(key))
			return
		}
		if !bytes.Equal(v.MarshalTo(nil), fv.MarshalTo(nil)) {
			ok = false
		}
	})
	if !ok {
		return nil
	}
	fo.Visit(func(key []byte, v *astjson.Value) {
		if co.Get(string(key)) != nil {
			return
		}
		if len(c.added) > 0 {
			c.added = append(c.added, ',')
		}
		c.added = appendJSONString(c.added, key)
		c.added = append(c.added, ':')
		c.added = v.MarshalTo(c.added)
	})
	return c
}

func variablesError(err error) *RequestError {
	var ive *variablesvalidation.InvalidVariableError
	if errors.As(err, &ive) {
		return NewRequestError(http.StatusBadRequest, apperr.CodeBadUserInput, "%s", clip(ive.Message))
	}
	return NewRequestError(http.StatusBadRequest, apperr.CodeBadUserInput, "invalid variables: %s", clip(err.Error()))
}

// clip shortens a message that quotes a client's value: a 10,000-element
// array must not come back as a 50 KB error.
func clip(msg string) string {
	const max = 512
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "… (shortened)"
}

// prepare does the whole work: parse, limits, normalize, validate. The
// returned preparedOp (nil when the outcome cannot be reused) lets the next
// request of the same document skip it.
func (e *Engine) prepare(req Request, vars []byte, parsed *astjson.Value) (*Operation, *preparedOp, error) {
	if v := e.limits.CheckTokens(req.Query); v != nil {
		return nil, nil, limitError(v)
	}

	k := kits.Get().(*kit)
	defer func() {
		k.doc.Reset()
		k.printed.Reset()
		kits.Put(k)
	}()
	doc := k.doc
	doc.Input.ResetInputString(req.Query)
	var report operationreport.Report
	k.parser.Parse(doc, &report)
	if report.HasErrors() {
		return nil, nil, errorFromReportCode(report, http.StatusBadRequest, apperr.CodeParseFailed)
	}

	opRef, err := selectOperation(doc, req.OperationName)
	if err != nil {
		return nil, nil, err
	}
	// Limits are measured on the document as sent: normalization inlines
	// fragments, which is exactly the work a fragment bomb wants done.
	if err := e.limits.Check(doc, opRef); err != nil {
		return nil, nil, limitError(err)
	}
	// Cloned: the name points into the pooled document's input, which the
	// next request overwrites (access logs read "$a: " for "Mine").
	op := &Operation{Name: strings.Clone(doc.OperationDefinitionNameString(opRef))}
	switch doc.OperationDefinitions[opRef].OperationType {
	case ast.OperationTypeQuery:
		op.Type = Query
	case ast.OperationTypeMutation:
		op.Type = Mutation
	case ast.OperationTypeSubscription:
		op.Type = Subscription
	default:
		return nil, nil, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "unsupported operation type")
	}

	// Checked before normalization rewrites the literals.
	valueDependent := literalHoldsVariable(doc)
	// Copy: the document keeps and may rewrite its variables.
	doc.Input.Variables = append([]byte(nil), vars...)
	k.normalizer.NormalizeNamedOperation(doc, e.clientSchema, []byte(op.Name), &report)
	if report.HasErrors() {
		return nil, nil, errorFromReport(report, http.StatusBadRequest)
	}
	op.uploadSlots = k.normalizeVariables(doc, e.clientSchema, &report)
	if report.HasErrors() {
		return nil, nil, errorFromReport(report, http.StatusBadRequest)
	}
	// Validation runs against the client schema: the federated schema still holds
	// @inaccessible members, which clients must neither query nor introspect.
	k.validator.Validate(doc, e.clientSchema, &report)
	if report.HasErrors() {
		return nil, nil, errorFromReport(report, http.StatusBadRequest)
	}
	if err := k.varValidator.Validate(doc, e.clientSchema, doc.Input.Variables); err != nil {
		return nil, nil, variablesError(err)
	}
	if rerr := checkScalars(doc, e.clientSchema, doc.Input.Variables, parsed); rerr != nil {
		return nil, nil, rerr
	}

	if err := astprinter.Print(doc, &k.printed); err != nil {
		return nil, nil, fmt.Errorf("print normalized operation: %w", err)
	}
	op.normalized = k.printed.String()
	op.id = xxhash.Sum64String(op.normalized)
	op.Variables = append([]byte(nil), doc.Input.Variables...)
	if valueDependent {
		return op, nil, nil
	}
	c := remember(parsed, op.Variables)
	if c != nil {
		c.name, c.typ, c.normalized, c.id, c.uploadSlots = op.Name, op.Type, op.normalized, op.id, op.uploadSlots
	}
	return op, c, nil
}

// literalHoldsVariable reports whether a variable sits inside an object or
// list literal anywhere in the document. Normalization extracts such a
// literal into a variable of its own whose value embeds this request's value
// of the client variable (and merges literals that happen to be equal), so
// the outcome belongs to this request alone and must not be remembered.
func literalHoldsVariable(doc *ast.Document) bool {
	for i := range doc.ObjectFields {
		if doc.ObjectFields[i].Value.Kind == ast.ValueKindVariable {
			return true
		}
	}
	for i := range doc.ListValues {
		for _, ref := range doc.ListValues[i].Refs {
			if doc.Values[ref].Kind == ast.ValueKindVariable {
				return true
			}
		}
	}
	return false
}

func limitError(err error) *RequestError {
	var v *limits.Violation
	if !errors.As(err, &v) {
		return NewRequestError(http.StatusBadRequest, apperr.CodeValidationFailed, "%v", err)
	}
	if v.Limit == "introspection" {
		// Apollo Server and Cosmo report it as a validation failure; clients know that code.
		return NewRequestError(http.StatusBadRequest, apperr.CodeValidationFailed, "%s", v.Error())
	}
	rerr := NewRequestError(http.StatusBadRequest, apperr.CodeLimitExceeded, "%s", v.Error())
	rerr.Errors[0].Extensions["limit"] = map[string]any{"name": v.Limit, "setting": v.Setting, "max": v.Max, "actual": v.Actual}
	return rerr
}

// selectOperation finds the operation to execute, per the GraphQL spec's GetOperation.
func selectOperation(doc *ast.Document, name string) (int, error) {
	found, count := -1, 0
	for _, n := range doc.RootNodes {
		if n.Kind != ast.NodeKindOperationDefinition {
			continue
		}
		count++
		if name != "" && doc.OperationDefinitionNameString(n.Ref) == name {
			found = n.Ref
		}
		if name == "" && found == -1 {
			found = n.Ref
		}
	}
	switch {
	case count == 0:
		return -1, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "the document contains no operation")
	case name == "" && count > 1:
		return -1, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "operationName is required: the document contains %d operations", count)
	case found == -1:
		return -1, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "unknown operation named %q", name)
	}
	return found, nil
}

func parseVariables(vars []byte) (*astjson.Value, error) {
	if len(vars) == 0 {
		vars = []byte("{}")
	}
	v, err := astjson.ParseBytes(vars)
	if err != nil {
		return nil, NewRequestError(http.StatusBadRequest, apperr.CodeBadRequest, "variables must be a JSON object")
	}
	return v, nil
}
