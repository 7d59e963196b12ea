// Command schemacheck compares two versions of the client schema (the
// composed graph/supergraph.graphql) and lists the changes that break
// existing clients: removed types, fields, arguments and enum values, changed
// field and argument types, new required arguments and input fields. It exits
// 1 when there is any.
//
//	go run ./schemacheck OLD NEW
//	make schema-check [BASE=origin/main]
package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: schemacheck OLD.graphql NEW.graphql")
		os.Exit(2)
	}
	oldSchema, err := load(os.Args[1])
	if err == nil {
		var newSchema *ast.Schema
		if newSchema, err = load(os.Args[2]); err == nil {
			breaking := Breaking(oldSchema, newSchema)
			for _, b := range breaking {
				fmt.Println("BREAKING:", b)
			}
			if len(breaking) > 0 {
				os.Exit(1)
			}
			fmt.Println("no breaking changes")
			return
		}
	}
	fmt.Fprintln(os.Stderr, "schemacheck:", err)
	os.Exit(2)
}

func load(path string) (*ast.Schema, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: path, Input: string(src)})
	if gqlErr != nil {
		return nil, fmt.Errorf("%s: %w", path, gqlErr)
	}
	return schema, nil
}

// Breaking lists what a client written against old can no longer do with new.
func Breaking(old, new *ast.Schema) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for name, ot := range old.Types {
		if ot.BuiltIn {
			continue
		}
		nt, ok := new.Types[name]
		if !ok {
			add("type %s was removed", name)
			continue
		}
		if nt.Kind != ot.Kind {
			add("type %s changed kind from %s to %s", name, ot.Kind, nt.Kind)
			continue
		}
		switch ot.Kind {
		case ast.Object, ast.Interface:
			for _, of := range ot.Fields {
				nf := nt.Fields.ForName(of.Name)
				if nf == nil {
					add("field %s.%s was removed", name, of.Name)
					continue
				}
				if !outputCompatible(of.Type, nf.Type) {
					add("field %s.%s changed type from %s to %s", name, of.Name, of.Type, nf.Type)
				}
				for _, oa := range of.Arguments {
					na := nf.Arguments.ForName(oa.Name)
					if na == nil {
						add("argument %s.%s(%s) was removed", name, of.Name, oa.Name)
					} else if !inputCompatible(oa.Type, na.Type) {
						add("argument %s.%s(%s) changed type from %s to %s", name, of.Name, oa.Name, oa.Type, na.Type)
					}
				}
				for _, na := range nf.Arguments {
					if of.Arguments.ForName(na.Name) == nil && na.Type.NonNull && na.DefaultValue == nil {
						add("required argument %s.%s(%s) was added", name, of.Name, na.Name)
					}
				}
			}
			for _, iface := range ot.Interfaces {
				if !contains(nt.Interfaces, iface) {
					add("type %s no longer implements %s", name, iface)
				}
			}
		case ast.InputObject:
			for _, of := range ot.Fields {
				nf := nt.Fields.ForName(of.Name)
				if nf == nil {
					add("input field %s.%s was removed", name, of.Name)
				} else if !inputCompatible(of.Type, nf.Type) {
					add("input field %s.%s changed type from %s to %s", name, of.Name, of.Type, nf.Type)
				}
			}
			for _, nf := range nt.Fields {
				if ot.Fields.ForName(nf.Name) == nil && nf.Type.NonNull && nf.DefaultValue == nil {
					add("required input field %s.%s was added", name, nf.Name)
				}
			}
		case ast.Enum:
			for _, ov := range ot.EnumValues {
				if nt.EnumValues.ForName(ov.Name) == nil {
					add("enum value %s.%s was removed", name, ov.Name)
				}
			}
		case ast.Union:
			for _, member := range ot.Types {
				if !contains(nt.Types, member) {
					add("type %s was removed from union %s", member, name)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// outputCompatible: a client reading new still gets what it expects from old
// when the named type is the same and new is at least as non-null.
func outputCompatible(old, new *ast.Type) bool {
	if old.NonNull && !new.NonNull {
		return false
	}
	if (old.Elem == nil) != (new.Elem == nil) {
		return false
	}
	if old.Elem != nil {
		return outputCompatible(old.Elem, new.Elem)
	}
	return old.NamedType == new.NamedType
}

// inputCompatible: every value a client sent for old is still accepted by
// new when the named type is the same and new is at most as non-null.
func inputCompatible(old, new *ast.Type) bool {
	if !old.NonNull && new.NonNull {
		return false
	}
	if (old.Elem == nil) != (new.Elem == nil) {
		return false
	}
	if old.Elem != nil {
		return inputCompatible(old.Elem, new.Elem)
	}
	return old.NamedType == new.NamedType
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
