// fuzz-json-roundtrip: JSONParser and JSONWriter against each other.
//
// The property, precisely (the writer's text differs from the input in whitespace and escapes, so the
// input bytes are never compared with the output):
//   for any bytes x: parse(x) either fails at an offset within 0...|x|, or gives a value v; then
//   1. x is valid UTF-8 but for encoded surrogates, as Python's surrogatepass decoder reads it (the parser
//      accepts nothing else);
//   2. e1 = write(v) parses again, to v1 identical to v (byte for byte: strings and keys compared as UTF-8,
//      numbers as literal text, members in order with duplicates kept), except that a string read with lone
//      surrogates comes back a plain one (U+FFFD stood in their place and is what was written);
//   3. e2 = write(v1) equals e1 byte for byte (writing is a fixed point after one round);
//   4. e1 holds no byte below 0x20 (control characters are escaped, no whitespace is written) and no
//      byte sequence that is not UTF-8.

import FuzzSupport
@testable import NotesAPI
import JSONOutput

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRoundtrip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    let value: JSONValue
    do {
        value = try JSONParser.parse(input)
    } catch {
        require((0...input.count).contains(error.offset), "error offset \(error.offset) outside 0...\(input.count)")
        return 0
    }
    require(JSONParser.decodingEncodedSurrogates(input) != nil, "accepted invalid UTF-8: \(describe(input))")

    let first = written(value)
    let reparsed: JSONValue
    do {
        reparsed = try JSONParser.parse(first)
    } catch {
        require(false, "the writer's output does not parse (\(error)): \(describe(first))")
        return 0
    }
    require(identical(plain(value), reparsed), "round trip changed the value: \(describe(input)) -> \(describe(first))")
    require(plain(value) == reparsed, "JSONValue == disagrees with byte equality after a round trip")
    let second = written(reparsed)
    require(first == second, "writing is not stable: \(describe(first)) then \(describe(second))")
    require(!first.contains { $0 < 0x20 }, "raw control byte written: \(describe(first))")
    require(String(validating: first, as: UTF8.self) != nil, "writer produced invalid UTF-8: \(describe(first))")
    return 0
}

func written(_ value: JSONValue) -> [UInt8] {
    var writer = JSONWriter()
    writer.value(value)
    return writer.bytes
}
