//go:build js && wasm

package main

import "syscall/js"

func main() {
	js.Global().Set("pvctlProcessResourceList", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) != 4 {
			return map[string]any{"output": "", "error": "expected (function, resourceList, documents, wholeItems)"}
		}
		output, order, failure := process(args[0].String(), args[1].String(), args[2].String(), args[3].Bool())
		return map[string]any{"output": output, "order": order, "error": failure, "stderr": stderr}
	}))
	select {}
}
