import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cjkBigrams, toFtsDocument, toFtsQuery } from "./cjk.js";

describe("cjkBigrams", () => {
  it("splits CJK runs into overlapping bigrams and keeps other words", () => {
    expect(cjkBigrams("東京大学")).toBe("東京 京大 大学");
    expect(cjkBigrams("中国历史")).toBe("中国 国历 历史");
    expect(cjkBigrams("学")).toBe("学");
    expect(cjkBigrams("110年のアルバム")).toBe("110 年の のア アル ルバ バム");
    expect(cjkBigrams("노동 조합 의")).toBe("노동 조합 의");
    expect(cjkBigrams("Álbum de los 110 años")).toBe("album de los 110 anos");
    expect(cjkBigrams("久保栄「火山灰地」を読む")).toBe("久保 保栄 火山 山灰 灰地 を読 読む");
    // Halfwidth katakana and the prolonged sound mark belong to the run.
    expect(cjkBigrams("ｺｰﾋｰ")).toBe("コー ーヒ ヒー");
    expect(cjkBigrams(" ; / ")).toBe("");
    // A voicing mark with no precomposed form stays with its kana.
    expect(cjkBigrams("東京ア\u3099")).toBe("東京 京ア\u3099");
  });

  it("never produces empty or blank tokens", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 30 }),
          fc.string({ unit: fc.constantFrom(..."東京大学の ア한국 a1「」・。　"), maxLength: 30 }),
        ),
        (s) => {
          for (const out of [cjkBigrams(s), toFtsDocument(s)]) {
            if (out === "") continue;
            for (const token of out.split(" ")) expect(token.trim()).toBe(token);
            expect(out.split(" ")).not.toContain("");
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("is stable: tokenising its own output changes nothing for CJK text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(..."東京大学中国历史の아"), minLength: 1, maxLength: 12 }),
        (s) => {
          const once = cjkBigrams(s);
          // Bigrams of bigrams are the bigrams themselves: each token is a run of at most two.
          expect(cjkBigrams(once)).toBe(once);
        },
      ),
    );
  });
});

describe("toFtsDocument and toFtsQuery", () => {
  it("adds each run's last character for one-character prefix queries", () => {
    expect(toFtsDocument("東京大学")).toBe("東京 京大 大学 学");
    expect(toFtsDocument("東京 大学 学")).toBe("東京 京 大学 学 学");
  });

  it("builds quoted terms, phrases and prefixes", () => {
    expect(toFtsQuery("中国")).toBe('"中国"');
    expect(toFtsQuery("東京大学")).toBe('"東京" "京大" "大学"');
    expect(toFtsQuery("火山灰地", { phrase: true })).toBe('"火山" + "山灰" + "灰地"');
    expect(toFtsQuery("学")).toBe('"学"*');
    expect(toFtsQuery("東京 法政", { phrase: true })).toBe('"東京" + "京" + "法政"');
    expect(toFtsQuery('medicine "AND" NEAR(')).toBe('"medicine" "and" "near"');
    expect(toFtsQuery(" ; ")).toBeUndefined();
  });
});

describe("FTS5 search over real CJK titles", () => {
  // 245/880 titles and 260/264 imprints of records in data/marc/ (file and position given).
  const docs: Record<string, string> = {
    kubo: "久保栄「火山灰地」を読む / 吉田一著. 東京 : 法政大学出版局, 1997.", // traject test_data.utf8.mrc #28
    lin: "次按驟變 / 林行止著. 臺北縣板橋市 : 遠景出版事業有限公司, 2008.", // traject #29
    koryo: "高麗 人物 列傅 / 李 民樹 編譯. 서울 : 瑞文堂, 1976.", // traject #6
    ajikto: "아직도　그럭　저럭　사십니까 : 강남　여인　과　신　팔불출", // traject #15
    fu: "傅惜华藏古典戏曲曲谱身段谱丛刊 / 主编王文章 ; 副主编刘文峰.", // UChicago_SampleBibs #0
    minguo: "民國時期文獻資料海外拾遺", // UChicago_SampleBibs #2
    album:
      "110年のアルバム : 日本人ペルー移住110周年記念誌 = Álbum de los 110 años : de la inmigración japonesa al Perú", // UChicago_SampleBibs #1
    nodong: "노동 조합 의 사회적 위상 과 미래 역할 / 이 정희 [and three others].", // UChicago_SampleBibs #4
    hushi: "自由主义在近代中国的历史命运 : 《独立评论》时期胡适政治思想研究 / 高志勇著.", // CornellFOLIOExemplars #31
    tairiku: "大陸建設の礎 / 猪岡菊子著.", // CornellFOLIOExemplars #46
    emaki: "東海道五十三次絵卷.", // princeton.xml #3
    gojusan: "東海道五十三次 / [著作者水島爾保布].", // princeton.xml #4
    panorama: "東海道パノラマ地図.", // princeton.xml #5
    medicine: '"Strong Medicine speaks" : a Native American elder has her say : an oral history', // traject #22
  };
  let db: Database.Database;
  let search: (term: string, phrase?: boolean) => string[];

  beforeAll(() => {
    db = new Database(":memory:");
    db.exec(
      "CREATE VIRTUAL TABLE bib USING fts5(key UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 0')",
    );
    db.exec("CREATE VIRTUAL TABLE naive USING fts5(key UNINDEXED, body)");
    const insert = db.prepare("INSERT INTO bib(key, body) VALUES (?, ?)");
    const insertNaive = db.prepare("INSERT INTO naive(key, body) VALUES (?, ?)");
    for (const [key, text] of Object.entries(docs)) {
      insert.run(key, toFtsDocument(text));
      insertNaive.run(key, text);
    }
    const query = db.prepare<[string], { key: string }>("SELECT key FROM bib WHERE bib MATCH ? ORDER BY key");
    search = (term, phrase = false) => {
      const match = toFtsQuery(term, { phrase });
      return match === undefined ? [] : query.all(match).map((r) => r.key);
    };
  });
  afterAll(() => db.close());

  it("needs the bigrams: unicode61 alone does not find a two-character word", () => {
    const naive = db.prepare("SELECT key FROM naive WHERE naive MATCH ?").all('"中国"');
    expect(naive).toEqual([]);
  });

  it("finds two-character words inside longer runs", () => {
    expect(search("中国")).toEqual(["hushi"]);
    expect(search("東京")).toEqual(["kubo"]);
    expect(search("大学")).toEqual(["kubo"]);
    expect(search("出版")).toEqual(["kubo", "lin"]);
    expect(search("노동")).toEqual(["nodong"]);
  });

  it("finds longer words, as all their bigrams or as a phrase", () => {
    expect(search("東海道")).toEqual(["emaki", "gojusan", "panorama"]);
    expect(search("五十三次", true)).toEqual(["emaki", "gojusan"]);
    expect(search("火山灰地", true)).toEqual(["kubo"]);
    expect(search("戏曲曲谱", true)).toEqual(["fu"]);
    expect(search("사회적")).toEqual(["nodong"]);
    expect(search("사십니까", true)).toEqual(["ajikto"]);
    expect(search("110年のアルバム", true)).toEqual(["album"]);
    // Halfwidth katakana are folded to fullwidth on both sides.
    expect(search("ｱﾙﾊﾞﾑ", true)).toEqual(["album"]);
    expect(search("東京 法政", true)).toEqual(["kubo"]);
    expect(search("東京 法", true)).toEqual(["kubo"]);
  });

  it("finds single characters wherever they stand in a run", () => {
    expect(search("礎")).toEqual(["tairiku"]);
    expect(search("卷")).toEqual(["emaki"]);
    expect(search("図")).toEqual(["panorama"]);
    expect(search("高麗")).toEqual(["koryo"]);
  });

  it("finds Latin-script words, diacritics folded", () => {
    expect(search("medicine")).toEqual(["medicine"]);
    expect(search("Album")).toEqual(["album"]);
    expect(search("inmigracion japonesa", true)).toEqual(["album"]);
  });

  it("does not find what is not there", () => {
    expect(search("北京")).toEqual([]);
    expect(search("大阪")).toEqual([]);
    expect(search("学校")).toEqual([]);
    // All three bigrams of 灰地火山 are not in any title; 火山 and 灰地 are, but not in that order.
    expect(search("灰地火山", true)).toEqual([]);
    expect(search("山火")).toEqual([]);
    // Traditional and simplified forms are different characters.
    expect(search("民国")).toEqual([]);
    expect(search("medicine history", true)).toEqual([]);
    expect(search('"AND" NEAR(')).toEqual([]);
  });
});
