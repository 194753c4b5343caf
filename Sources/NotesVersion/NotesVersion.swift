/// The release, from VERSION beside this file: the one place it is written (debian/changelog must agree, and
/// debian/rules refuses to build a package when it does not).
public let notesVersion = String(decoding: PackageResources.VERSION.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
