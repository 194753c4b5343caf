import HTTPMessages
@testable import NotesAPI
import NotesStore
import NotesTesting
import Testing

/// Conditional requests (RFC 9110 §13) in the process: the tags of rows and pages, `If-None-Match` on reads
/// (304), `If-Match` on writes (the versions the write's statement requires, 412, 404 before 412).
@Suite struct ConditionalRequestTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }

    // MARK: parsing and comparison

    @Test func aHeaderListIsReadTagByTag() {
        let condition = EntityTags.Condition(#" "1" , W/"2",junk, "a,b" ,"3"x, W/"4""#)
        #expect(!condition.any)
        #expect(condition.tags.map { String(decoding: $0.opaque, as: UTF8.self) } == ["1", "2", "a,b", "4"])
        #expect(condition.tags.map(\.weak) == [false, true, false, true])
        #expect(EntityTags.Condition(" * ").any)
        #expect(!EntityTags.Condition(#"*, "1""#).any)
        #expect(EntityTags.Condition("").tags.isEmpty)
    }

    @Test func ifMatchComparesStronglyAndNamesOnlyVersions() {
        #expect(EntityTags.versions(ifMatch: "*") == nil)
        #expect(EntityTags.versions(ifMatch: #""3", "12""#) == [3, 12])
        // Weak tags, another resource's kind of tag, and numbers written otherwise name no version.
        #expect(EntityTags.versions(ifMatch: #"W/"3", "00ff", "03", "+3", "", "99999999999999999999""#) == [])
        #expect(EntityTags.versions(ifMatch: "garbage") == [])
    }

    @Test func ifNoneMatchComparesWeakly() {
        #expect(EntityTags.noneMatchFails(#"W/"3""#, current: #""3""#))
        #expect(EntityTags.noneMatchFails(#""1", "3""#, current: #""3""#))
        #expect(EntityTags.noneMatchFails("*", current: #""3""#))
        #expect(!EntityTags.noneMatchFails(#""4""#, current: #""3""#))
        #expect(!EntityTags.noneMatchFails("3", current: #""3""#))
    }

    @Test func aPagesTagFollowsItsIdsVersionsAndTotal() {
        let page = Page(rows: Fixtures.page(.note, [Fixtures.note(1), Fixtures.note(2)], total: 2), total: 2)
        let tag = EntityTags.page(page, of: .note)
        #expect(tag.utf8.count == 18 && tag.hasPrefix("\"") && tag.hasSuffix("\""))
        #expect(EntityTags.page(page, of: .note) == tag)
        let newer = Page(rows: Fixtures.page(.note, [Fixtures.note(1), Fixtures.note(2, version: 2)], total: 2), total: 2)
        let other = Page(rows: Fixtures.page(.note, [Fixtures.note(1), Fixtures.note(3)], total: 2), total: 2)
        let more = Page(rows: Fixtures.page(.note, [Fixtures.note(1), Fixtures.note(2)], total: 3), total: 3)
        #expect(Set([tag, EntityTags.page(newer, of: .note), EntityTags.page(other, of: .note), EntityTags.page(more, of: .note)]).count == 4)
        // An author's id is its third column: the tag reads the id column, wherever it is.
        let authors = Page(rows: Fixtures.page(.author, [Fixtures.author(1)], total: 1), total: 1)
        let authors2 = Page(rows: Fixtures.page(.author, [Fixtures.author(2)], total: 1), total: 1)
        #expect(EntityTags.page(authors, of: .author) != EntityTags.page(authors2, of: .author))
    }

    // MARK: reads

    @Test func aRowIsAnsweredWithItsVersionAsItsTag() {
        runner.on("note_select", rows: .of(.note, [Fixtures.note(7, version: 3)]))
        let response = client.execute("GET", "/notes/7")
        #expect(response.status == 200)
        #expect(response.header("ETag") == #""3""#)
        #expect(response.body == Fixtures.noteJSON(7))
    }

    @Test func ifNoneMatchThatMatchesAnswers304WithTheTagAndNoBody() {
        for header in [#""3""#, #"W/"3""#, #""1", "3""#, "*"] {
            runner.on("note_select", rows: .of(.note, [Fixtures.note(7, version: 3)]))
            let response = client.execute("GET", "/notes/7", ifNoneMatch: header)
            #expect(response.status == 304, "\(header)")
            #expect(response.bytes.isEmpty)
            #expect(response.header("ETag") == #""3""#)
            #expect(response.header("Content-Type") == nil)
        }
    }

    @Test func ifNoneMatchThatDoesNotMatchAnswersTheRow() {
        runner.on("note_select", rows: .of(.note, [Fixtures.note(7, version: 3)]))
        let response = client.execute("GET", "/notes/7", ifNoneMatch: #""2", W/"4""#)
        #expect(response.status == 200)
        #expect(response.body == Fixtures.noteJSON(7))
    }

    @Test func aMissingRowIs404WhateverIfNoneMatchSays() {
        runner.on("note_select", rows: .of(.note, []))
        #expect(client.execute("GET", "/notes/7", ifNoneMatch: "*").status == 404)
    }

    @Test func pagesCarryATagAndAnswer304() {
        let rows = Fixtures.page(.note, [Fixtures.note(1), Fixtures.note(2)], total: 9)
        runner.on("note_page", rows: rows)
        let first = client.execute("GET", "/notes/")
        let tag = first.header("ETag")
        #expect(tag == EntityTags.page(Page(rows: rows, total: 9, hasNext: true), of: .note))
        #expect(first.header("X-Total-Count") == "9")
        runner.on("note_page", rows: rows)
        let again = client.execute("GET", "/notes/", ifNoneMatch: tag)
        #expect(again.status == 304)
        #expect(again.bytes.isEmpty)
        #expect(again.header("ETag") == tag)
    }

    @Test func aWriteIsAnsweredWithTheNewTag() {
        runner.on("note_insert", rows: .of(.note, [Fixtures.note(8)]))
        #expect(client.execute("POST", "/notes/", json: #"{"text": "buy milk", "completed": false}"#).header("ETag") == #""1""#)
        runner.on("note_update", rows: .of(.note, [Fixtures.note(8, version: 2)]))
        #expect(client.execute("PUT", "/notes/8", json: #"{"text": "buy milk", "completed": false}"#).header("ETag") == #""2""#)
    }

    @Test func writesIgnoreIfNoneMatch() {
        runner.on("note_update", rows: .of(.note, [Fixtures.note(8, version: 2)]))
        let response = client.execute("PUT", "/notes/8", json: #"{"text": "buy milk", "completed": false}"#, ifNoneMatch: "*")
        #expect(response.status == 200)
    }

    // MARK: writes

    @Test func ifMatchBecomesTheVersionsTheStatementRequires() {
        runner.on("note_update", rows: .of(.note, [Fixtures.note(7, version: 4)]))
        let response = client.execute("PUT", "/notes/7", json: #"{"text": "buy milk", "completed": false}"#, ifMatch: #""3", W/"5""#)
        #expect(response.status == 200)
        #expect(response.header("ETag") == #""4""#)
        #expect(runner.statements == ["note_update(7, buy milk, f, {3})"])
    }

    @Test func ifMatchStarRequiresNoVersion() {
        runner.on("note_patch", rows: .of(.note, [Fixtures.note(7)]))
        _ = client.execute("PATCH", "/notes/7", json: "{}", ifMatch: "*")
        #expect(runner.statements == ["note_patch(7, NULL, NULL, NULL)"])
    }

    @Test func aStaleTagIs412WhenTheRowStillExists() {
        runner.on("note_patch", rows: .none)
        runner.on("note_select", rows: .of(.note, [Fixtures.note(7, version: 5)]))
        let response = client.execute("PATCH", "/notes/7", json: #"{"text": "x"}"#, ifMatch: #""3""#)
        #expect(response.status == 412)
        #expect(response.body == #"{"detail":"Precondition Failed"}"#)
        #expect(runner.statements == ["note_patch(7, x, NULL, {3})", "note_select(7)"])
    }

    @Test func aMissingRowIs404BeforeItsPreconditionIsLookedAt() {
        runner.on("note_update", rows: .none)
        runner.on("note_select", rows: .of(.note, []))
        let response = client.execute("PUT", "/notes/7", json: #"{"text": "x", "completed": true}"#, ifMatch: #""3""#)
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Note not found"}"#)
        // Without If-Match no row is no row: nothing more is asked.
        runner.on("note_update", rows: .none)
        let star = client.execute("PUT", "/notes/7", json: #"{"text": "x", "completed": true}"#, ifMatch: "*")
        #expect(star.status == 404)
        #expect(runner.statements.last == "note_update(7, x, t, NULL)")
    }

    @Test func aTagThatNamesNoVersionMatchesNothing() {
        runner.on("note_delete", rows: .none)
        runner.on("note_select", rows: .of(.note, [Fixtures.note(7)]))
        let response = client.execute("DELETE", "/notes/7", ifMatch: #"W/"1""#)
        #expect(response.status == 412)
        #expect(runner.statements == ["note_delete(7, {})", "note_select(7)"])
    }

    @Test func blogDeletesTakeIfMatch() {
        runner.on("article_delete", rows: .none)
        runner.on("article_select", rows: .of(.article, [Fixtures.article(5)]))
        #expect(client.execute("DELETE", "/articles/5", ifMatch: #""2""#).status == 412)
        runner.on("author_delete", rows: .none)
        runner.on("author_select", rows: .of(.author, [Fixtures.author(2)]))
        let response = client.execute("DELETE", "/authors/2", ifMatch: #""2""#)
        #expect(response.status == 412)
        #expect(response.body == #"{"detail":"Precondition Failed"}"#)
        runner.on("author_delete", rows: Rows(columnCount: 1, values: [["2"]]))
        #expect(client.execute("DELETE", "/authors/2", ifMatch: #""1""#).status == 204)
        #expect(runner.statements.suffix(3) == ["author_delete(2, {2})", "author_select(2)", "author_delete(2, {1})"])
    }

    @Test func every412And304IsDeclared() {
        for endpoint in Endpoints.all {
            switch endpoint.method {
            case "PUT", "PATCH", "DELETE": #expect(endpoint.precondition == .ifMatch, "\(endpoint.operationID)")
            case "GET":
                if case .entity = endpoint.success { #expect(endpoint.precondition == .ifNoneMatch, "\(endpoint.operationID)") }
                if case .page = endpoint.success { #expect(endpoint.precondition == .ifNoneMatch, "\(endpoint.operationID)") }
            default: #expect(endpoint.precondition == nil, "\(endpoint.operationID)")
            }
        }
    }
}
