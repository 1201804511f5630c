import Foundation

/// A grouped bar chart like the OSv team's Redis graph: one panel per pipeline depth, one group
/// of bars per test, one bar per target (requests per second). Plain SVG, no dependencies.
public enum SVGChart {
    static let colors = ["guest": "#d9534f", "host": "#337ab7", "reference": "#5cb85c"]

    public static func render(_ results: BenchResults) -> String {
        let tests = results.tests
        let targets = results.targets
        let bar = 10.0, gap = 14.0, left = 70.0, panelHeight = 220.0, top = 40.0
        let groupWidth = Double(targets.count) * bar + gap
        let width = left + Double(max(tests.count, 1)) * groupWidth + 20
        let height = top + Double(results.settings.pipelines.count) * (panelHeight + 110) + 10
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="20" font-size="14">swiftlet bench: requests per second (redis-benchmark -c \(results.settings.clients))</text>

        """
        var legendX = left + 420
        for t in targets {
            svg += "<rect x=\"\(legendX)\" y=\"9\" width=\"10\" height=\"10\" fill=\"\(colors[t] ?? "#999")\"/><text x=\"\(legendX + 14)\" y=\"18\">\(t)</text>\n"
            legendX += 90
        }
        for (i, p) in results.settings.pipelines.enumerated() {
            let y0 = top + Double(i) * (panelHeight + 110)
            let maxRPS = max(1, tests.flatMap { test in targets.compactMap { results.median($0, p, test)?.rps } }.filter(\.isFinite).max() ?? 1)
            svg += "<text x=\"5\" y=\"\(y0 + 12)\" font-size=\"12\">-P \(p)</text>\n"
            // Axis with four grid lines.
            for k in 0...4 {
                let value = maxRPS * Double(k) / 4
                let y = y0 + panelHeight - panelHeight * Double(k) / 4
                svg += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 20)\" y2=\"\(y)\" stroke=\"#ddd\"/>"
                svg += "<text x=\"\(left - 5)\" y=\"\(y + 4)\" text-anchor=\"end\">\(abbreviate(value))</text>\n"
            }
            for (j, test) in tests.enumerated() {
                let gx = left + Double(j) * groupWidth + gap / 2
                for (k, t) in targets.enumerated() {
                    guard let m = results.median(t, p, test), m.rps.isFinite else { continue }
                    let h = panelHeight * m.rps / maxRPS
                    svg += "<rect x=\"\(gx + Double(k) * bar)\" y=\"\(y0 + panelHeight - h)\" width=\"\(bar - 1)\" height=\"\(h)\" fill=\"\(colors[t] ?? "#999")\"><title>\(t) \(test) -P \(p): \(Int(m.rps)) rps</title></rect>\n"
                }
                let lx = gx + Double(targets.count) * bar / 2
                let ly = y0 + panelHeight + 8
                svg += "<text x=\"\(lx)\" y=\"\(ly)\" transform=\"rotate(60 \(lx) \(ly))\">\(test)</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    static func abbreviate(_ v: Double) -> String {
        v >= 1_000_000 ? String(format: "%.1fM", v / 1_000_000) : v >= 1000 ? String(format: "%.0fk", v / 1000) : String(format: "%.0f", v)
    }
}
