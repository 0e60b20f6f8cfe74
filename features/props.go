package features

// Prop returns the latest value of a lead's firmographic, source or BANT prop
// (company, title, timezone, …) as it was sent, "" if never sent.
func Prop(st State, name string) string { return st["f:"+name] }
